import { describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { bearer, sampleValue, useTestSidecar } from '../support/sidecar.js';
import { withClaims } from '../support/tokens.js';

const jwks = useJwksServer();
const sidecar = useTestSidecar(() => ({
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
  tokenCache: { maxEntries: 0 },
}));

describe('tokenCache.maxEntries: 0', () => {
  test('every request verifies the signature: repeats are misses, and a tampered copy still fails', async () => {
    const token = await jwks().sign({ aud: 'orders-api', sub: 'u' });
    for (let index = 0; index < 3; index++) expect((await sidecar().request('/x', bearer(token))).status).toBe(200);
    expect((await sidecar().request('/x', bearer(withClaims(token, { sub: 'admin' })))).status).toBe(401);
    const metrics = await sidecar().metricsText();
    expect(sampleValue(metrics, 'token_cache_misses_total')).toBe(4);
    expect(sampleValue(metrics, 'token_cache_hits_total')).toBe(0);
    expect(sampleValue(metrics, 'token_cache_entries')).toBe(0);
  });
});
