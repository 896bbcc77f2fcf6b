/**
 * The fixed set of validation failure reasons. Defined once: metrics labels, span attributes,
 * audit log fields and JSON error bodies all use these exact strings.
 */
export const FAILURE_REASONS = [
  'missing_token',
  'malformed',
  'disallowed_algorithm',
  'unknown_key',
  'invalid_signature',
  'expired',
  'not_yet_valid',
  'invalid_issuer',
  'invalid_audience',
  'invalid_claims',
  'insufficient_scope',
  'jwks_unavailable',
] as const;

export type FailureReason = (typeof FAILURE_REASONS)[number];
