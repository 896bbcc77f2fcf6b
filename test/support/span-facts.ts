import type { ValidationSpanFacts } from '../../src/observability/tracing/span-record.js';

/** The facts of a successful validation (a cache hit on the orders route), with `overrides`. */
export function validationFacts(overrides: Partial<ValidationSpanFacts> = {}): ValidationSpanFacts {
  return {
    result: 'success',
    reason: undefined,
    issuer: 'https://idp.example',
    clientId: 'orders-service',
    grantType: 'client_credentials',
    scopes: ['read:orders'],
    kid: 'k1',
    cache: 'hit',
    route: '/api/orders/**',
    enforcement: 'enforce',
    letThrough: false,
    description: undefined,
    ...overrides,
  };
}
