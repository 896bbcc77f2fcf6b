/**
 * Asymmetric JWS algorithms tokenwatch can verify with JWKS keys, and the key each one needs.
 * HMAC (HS*) is absent on purpose: a JWKS publishes public keys, and accepting HS* with them is
 * the classic algorithm-confusion hole. `none` is absent for the same reason.
 */
export const SUPPORTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

export type SupportedAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export const DEFAULT_ALGORITHMS: readonly SupportedAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

const SUPPORTED = new Set<string>(SUPPORTED_ALGORITHMS);

export function isSupportedAlgorithm(alg: unknown): alg is SupportedAlgorithm {
  return typeof alg === 'string' && SUPPORTED.has(alg);
}
