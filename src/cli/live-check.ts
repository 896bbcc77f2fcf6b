import { keyFitsAlgorithm } from '../auth/algorithms.js';
import { SUPPORTED_ALGORITHMS } from '../config/algorithms.js';
import { IDP_DOCUMENT_MAX_BYTES, discoveryUrlOf, fetchIdpJson } from '../auth/idp-fetch.js';
import { importJwks } from '../auth/jwks.js';
import { isLoopbackUrl, type IssuerConfig } from '../config/schema.js';
import { hasFailure, plural, show, type Check } from './format.js';

/** What a JWKS publishes for one key: identity and type only, never key material. */
export interface PublishedKey {
  kid: string | undefined;
  kty: string | undefined;
  crv: string | undefined;
  alg: string | undefined;
  use: string | undefined;
  /** Its `alg`, or for a key without one every supported algorithm its kty/crv fit. */
  algorithms: string[];
}

export interface IssuerLiveReport {
  issuer: string;
  checks: Check[];
  /** Empty when the JWKS could not be read. */
  keys: PublishedKey[];
  ok: boolean;
}

/**
 * The pre-flight check of one issuer against its IdP, as the sidecar will see it: discovery (unless jwksUri is
 * configured) naming exactly the configured issuer, the JWKS reachable and parseable, and keys for the configured
 * algorithms. Checks that do not depend on a failed one still run, so one report shows every problem.
 */
export async function checkIssuerLive(config: IssuerConfig): Promise<IssuerLiveReport> {
  const checks: Check[] = [];
  const fetchOptions = { timeoutMs: config.fetchTimeout, maxBytes: IDP_DOCUMENT_MAX_BYTES };
  if (config.jwksUri !== undefined) checks.push({ name: 'discovery', status: 'skip', detail: 'not used: jwksUri is configured' });
  const jwksUri = config.jwksUri ?? (await discoverJwksUri(config, fetchOptions, checks));
  let keys: PublishedKey[] = [];
  if (jwksUri !== undefined) {
    let document: unknown;
    try {
      document = (await fetchIdpJson(jwksUri, fetchOptions)).body;
    } catch (error) {
      checks.push({ name: 'jwks', status: 'fail', detail: `${jwksUri} unreachable: ${(error as Error).message}` });
    }
    if (document !== undefined) keys = await checkJwks(document, jwksUri, config, checks);
  }
  return { issuer: config.issuer, checks, keys, ok: !hasFailure(checks) };
}

async function discoverJwksUri(
  config: IssuerConfig,
  fetchOptions: { timeoutMs: number; maxBytes: number },
  checks: Check[],
): Promise<string | undefined> {
  const url = discoveryUrlOf(config.issuer);
  let document: { issuer?: unknown; jwks_uri?: unknown } | null;
  try {
    document = (await fetchIdpJson(url, fetchOptions)).body as typeof document;
  } catch (error) {
    checks.push({ name: 'discovery', status: 'fail', detail: `${url} unreachable: ${(error as Error).message}` });
    return undefined;
  }
  checks.push({ name: 'discovery', status: 'pass', detail: `reachable: ${url}` });
  checks.push(
    document?.issuer === config.issuer
      ? { name: 'issuer', status: 'pass', detail: 'discovery names exactly the configured issuer' }
      : {
          name: 'issuer',
          status: 'fail',
          detail: `discovery names ${show(document?.issuer)}, configured ${config.issuer} (must be equal, byte for byte)`,
        },
  );
  const jwksUri = document?.jwks_uri;
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri) || !/^https?:$/.test(new URL(jwksUri).protocol)) {
    checks.push({ name: 'jwks_uri', status: 'fail', detail: `discovery has no valid jwks_uri (got ${show(jwksUri)})` });
    return undefined;
  }
  if (!config.allowInsecureHttp && new URL(jwksUri).protocol !== 'https:' && !isLoopbackUrl(jwksUri)) {
    checks.push({ name: 'jwks_uri', status: 'fail', detail: `${jwksUri} is not https (set allowInsecureHttp only if you must)` });
    return undefined;
  }
  // The parsed form: what is fetched, and printable whatever the document held.
  return new URL(jwksUri).href;
}

async function checkJwks(document: unknown, jwksUri: string, config: IssuerConfig, checks: Check[]): Promise<PublishedKey[]> {
  let imported;
  try {
    imported = await importJwks(document, config.algorithms, new Map());
  } catch (error) {
    checks.push({ name: 'jwks', status: 'fail', detail: `${jwksUri} is not a JWKS: ${(error as Error).message}` });
    return [];
  }
  const published = (document as { keys: unknown[] }).keys.map(describeKey);
  checks.push({ name: 'jwks', status: 'pass', detail: `reachable and parseable: ${plural(published.length, 'key')} at ${jwksUri}` });

  const offered = [...new Set(published.flatMap((key) => key.algorithms))];
  const usable = [...new Set(imported.keys.map((key) => key.alg))];
  const configured = config.algorithms.join(', ');
  if (usable.length > 0) {
    checks.push({ name: 'algorithms', status: 'pass', detail: `keys for ${usable.join(', ')} (configured: ${configured})` });
  } else {
    const reason = published.length === 0 ? 'the JWKS has no keys' : `the keys offer ${offered.map(show).join(', ') || 'no algorithm'}`;
    checks.push({ name: 'algorithms', status: 'fail', detail: `no usable key for the configured ${configured}: ${reason}` });
  }
  for (const reason of imported.skipped) checks.push({ name: 'skipped', status: 'warn', detail: `${reason} (the sidecar will not use it)` });
  return published;
}

function describeKey(candidate: unknown): PublishedKey {
  const jwk = typeof candidate === 'object' && candidate !== null ? (candidate as Record<string, unknown>) : {};
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const alg = text(jwk.alg);
  const algorithms = alg !== undefined ? [alg] : SUPPORTED_ALGORITHMS.filter((supported) => keyFitsAlgorithm(supported, jwk.kty, jwk.crv));
  return { kid: text(jwk.kid), kty: text(jwk.kty), crv: text(jwk.crv), alg, use: text(jwk.use), algorithms };
}

