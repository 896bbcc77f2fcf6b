import type { SupportedAlgorithm } from '../config/algorithms.js';

/** Whether a JWK (its kty and crv) can carry a signature made with `alg`. */
export function keyFitsAlgorithm(alg: SupportedAlgorithm, kty: unknown, crv: unknown): boolean {
  switch (alg) {
    case 'RS256':
    case 'RS384':
    case 'RS512':
    case 'PS256':
    case 'PS384':
    case 'PS512':
      return kty === 'RSA';
    case 'ES256':
      return kty === 'EC' && crv === 'P-256';
    case 'ES384':
      return kty === 'EC' && crv === 'P-384';
    case 'ES512':
      return kty === 'EC' && crv === 'P-521';
    case 'EdDSA':
      return kty === 'OKP' && crv === 'Ed25519';
  }
}
