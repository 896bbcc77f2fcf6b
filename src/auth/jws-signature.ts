import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject, type VerifyKeyObjectInput, type VerifyPublicKeyInput } from 'node:crypto';
import type { SupportedAlgorithm } from '../config/algorithms.js';

interface SignatureScheme {
  /** Digest for node:crypto.verify; null for EdDSA, whose digest is part of the scheme. */
  readonly digest: string | null;
  readonly padding?: number;
  readonly saltLength?: number;
  /** JWS (RFC 7518 section 3.4) carries ECDSA signatures as r || s, not DER. */
  readonly dsaEncoding?: 'ieee-p1363';
  /** Exact signature length in bytes, where the algorithm fixes it (ECDSA). */
  readonly signatureBytes?: number;
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };

/** RS*: PKCS#1 v1.5, node:crypto's default padding for an `rsa` key (the only type a JWK with kty RSA imports as). */
const SCHEMES: Readonly<Record<SupportedAlgorithm, SignatureScheme>> = {
  RS256: { digest: 'sha256' },
  RS384: { digest: 'sha384' },
  RS512: { digest: 'sha512' },
  PS256: { digest: 'sha256', ...PSS },
  PS384: { digest: 'sha384', ...PSS },
  PS512: { digest: 'sha512', ...PSS },
  ES256: { digest: 'sha256', dsaEncoding: 'ieee-p1363', signatureBytes: 64 },
  ES384: { digest: 'sha384', dsaEncoding: 'ieee-p1363', signatureBytes: 96 },
  ES512: { digest: 'sha512', dsaEncoding: 'ieee-p1363', signatureBytes: 132 },
  EdDSA: { digest: null },
};

/**
 * Verifies JWS signatures of one key with one algorithm, synchronously with node:crypto. jose imports and checks the
 * key first (key sizes included); verifying here rather than through WebCrypto keeps a cache miss on the request's
 * own core instead of a thread-pool round trip, about twice the rate on one core
 * (docs/decisions/0003-signature-verification.md). The algorithm is fixed per key from the issuer's allowlist.
 */
export class JwsVerifier {
  private readonly digest: string | null;
  private readonly input: KeyObject | VerifyKeyObjectInput | VerifyPublicKeyInput;
  private readonly signatureBytes: number | undefined;

  constructor(alg: SupportedAlgorithm, publicJwk: JsonWebKey) {
    const { digest, padding, saltLength, dsaEncoding, signatureBytes } = SCHEMES[alg];
    const key = createPublicKey({ key: publicJwk, format: 'jwk' });
    this.digest = digest;
    // RSA signatures are exactly as long as the modulus (RFC 8017 section 8.2.2).
    const modulusBits = key.asymmetricKeyDetails?.modulusLength;
    this.signatureBytes = signatureBytes ?? (modulusBits === undefined ? undefined : modulusBits / 8);
    // The KeyObject itself when the scheme needs no options: Node 24 recognises a KeyObject inside an options object
    // by throwing and catching an internal error, which cost a fifth of an RS256 cache miss (bench/ authz suite).
    this.input =
      padding === undefined && saltLength === undefined && dsaEncoding === undefined
        ? key
        : { key, ...(padding === undefined ? {} : { padding }), ...(saltLength === undefined ? {} : { saltLength }), ...(dsaEncoding ? { dsaEncoding } : {}) };
  }

  verify(signingInput: string, signature: Buffer): boolean {
    if (this.signatureBytes !== undefined && signature.length !== this.signatureBytes) return false;
    try {
      return verify(this.digest, Buffer.from(signingInput, 'latin1'), this.input, signature);
    } catch {
      return false;
    }
  }
}
