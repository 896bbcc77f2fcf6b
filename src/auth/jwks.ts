import type { JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { JwsVerifier } from './jws-signature.js';
import type { SupportedAlgorithm } from '../config/algorithms.js';
import { keyFitsAlgorithm } from './algorithms.js';

/** A verification key ready for use with one algorithm. Objects are reused across refreshes while the key is unchanged. */
export interface VerificationKey {
  readonly kid: string | undefined;
  readonly alg: SupportedAlgorithm;
  readonly verifier: JwsVerifier;
  /** RFC 7638 thumbprint plus alg: the identity of this key across refreshes. */
  readonly id: string;
}

export const MAX_JWKS_KEYS = 100;

const PUBLIC_MEMBERS = ['kty', 'crv', 'n', 'e', 'x', 'y'] as const;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const;

export interface ImportedJwks {
  keys: VerificationKey[];
  /** JWKs that could not be used, with why: shown by check-config --live and logged at debug. */
  skipped: string[];
}

/**
 * Turns a JWKS document into verification keys for the allowed algorithms. Only public signing keys of an allowed
 * algorithm are kept; a key carrying private members is refused outright, since using it would mean the IdP leaks
 * its signing secret.
 */
export async function importJwks(
  document: unknown,
  allowed: readonly SupportedAlgorithm[],
  previous: ReadonlyMap<string, VerificationKey>,
): Promise<ImportedJwks> {
  const jwks = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(jwks)) throw new TypeError('JWKS has no "keys" array');
  const keys: VerificationKey[] = [];
  const skipped: string[] = [];
  for (const [index, candidate] of jwks.slice(0, MAX_JWKS_KEYS).entries()) {
    const label = `keys[${index}]`;
    if (typeof candidate !== 'object' || candidate === null) {
      skipped.push(`${label}: not an object`);
      continue;
    }
    const jwk = candidate as Record<string, unknown>;
    const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
    if (PRIVATE_MEMBERS.some((member) => member in jwk)) {
      skipped.push(`${label}: carries private key material; refused`);
      continue;
    }
    if (jwk.use !== undefined && jwk.use !== 'sig') {
      skipped.push(`${label}: use is ${String(jwk.use)}, not sig`);
      continue;
    }
    if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) {
      skipped.push(`${label}: key_ops does not include verify`);
      continue;
    }
    const algs = allowed.filter((alg) => keyFitsAlgorithm(alg, jwk.kty, jwk.crv) && (jwk.alg === undefined || jwk.alg === alg));
    if (algs.length === 0) {
      skipped.push(`${label}: kty ${String(jwk.kty)}${jwk.alg ? ` alg ${String(jwk.alg)}` : ''} fits none of the allowed algorithms`);
      continue;
    }
    const publicJwk: JWK = {};
    for (const member of PUBLIC_MEMBERS) if (typeof jwk[member] === 'string') publicJwk[member] = jwk[member] as string;
    let thumbprint: string;
    try {
      thumbprint = await calculateJwkThumbprint(publicJwk);
    } catch {
      skipped.push(`${label}: incomplete key`);
      continue;
    }
    for (const alg of algs) {
      const id = `${kid ?? ''}|${thumbprint}|${alg}`;
      const reused = previous.get(id);
      if (reused) {
        keys.push(reused);
        continue;
      }
      try {
        // jose's import refuses what must not be used (RSA under 2048 bits, a key unfit for alg); node:crypto verifies.
        const checked = await importJWK(publicJwk, alg);
        if (checked instanceof Uint8Array) throw new TypeError('symmetric key');
        keys.push({ kid, alg, verifier: new JwsVerifier(alg, publicJwk as JsonWebKey), id });
      } catch {
        skipped.push(`${label}: cannot be imported for ${alg}`);
      }
    }
  }
  if (jwks.length > MAX_JWKS_KEYS) skipped.push(`only the first ${MAX_JWKS_KEYS} of ${jwks.length} keys are used`);
  return { keys, skipped };
}
