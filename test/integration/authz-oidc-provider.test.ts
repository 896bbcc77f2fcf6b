import { describe, expect, test } from 'vitest';
import { useEmbeddedIdp } from '../support/idp.js';
import { bearer, sampleValue, useTestSidecar } from '../support/sidecar.js';

const idp = useEmbeddedIdp();
const sidecar = useTestSidecar(() => ({
  issuers: [{ issuer: idp().issuer, audiences: ['orders-api'], requireTyp: 'at+jwt', requiredClaims: ['sub', 'client_id'], jwksCooldown: '1s' }],
  routes: [
    { path: '/healthz', public: true },
    { path: '/api/orders/**', methods: ['GET'], scopes: ['read:orders'] },
    { path: '/api/orders/**', methods: ['POST'], scopes: ['write:orders'] },
  ],
  defaultRoute: 'deny',
}));

describe('against a real OIDC provider (oidc-provider, client_credentials, JWT access tokens)', () => {
  test('discovery finds the JWKS and /readyz is ready', async () => {
    const response = await fetch(`${sidecar().adminUrl}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ready', issuers: [{ issuer: idp().issuer, state: 'fresh' }] });
  });

  test('a client_credentials token is allowed with identity headers', async () => {
    const token = await idp().getToken(idp().clients.orders);
    const response = await sidecar().request('/api/orders/7', bearer(token));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-auth-client-id')).toBe('orders-service');
    expect(response.headers.get('x-auth-scopes')?.split(' ').sort()).toEqual(['read:orders', 'write:orders']);
  });

  test('the second use of a token is a cache hit', async () => {
    const token = await idp().getToken(idp().clients.orders);
    const before = sampleValue(await sidecar().metricsText(), 'token_cache_hits_total');
    await sidecar().request('/api/orders/7', bearer(token));
    await sidecar().request('/api/orders/8', bearer(token));
    expect(sampleValue(await sidecar().metricsText(), 'token_cache_hits_total') - before).toBe(1);
  });

  test('a token with only read:orders may read but not write', async () => {
    const token = await idp().getToken(idp().clients.orders, ['read:orders']);
    expect((await sidecar().request('/api/orders/7', bearer(token))).status).toBe(200);
    const write = await sidecar().request('/api/orders/7', { method: 'POST', ...bearer(token) });
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toContain('scope="write:orders"');
  });

  test('another client without the scope gets 403', async () => {
    const token = await idp().getToken(idp().clients.reporting);
    expect((await sidecar().request('/api/orders/7', bearer(token))).status).toBe(403);
  });

  test('defaultRoute deny refuses unmatched paths even with a valid token', async () => {
    const token = await idp().getToken(idp().clients.orders);
    const response = await sidecar().request('/admin', bearer(token));
    expect(response.status).toBe(403);
    expect(((await response.json()) as { reason: string }).reason).toBe('route_denied');
  });

  test('key rotation at the IdP: new tokens validate after one refetch, old ones keep working while their key is published', async () => {
    const oldToken = await idp().getToken(idp().clients.orders);
    const oldKid = idp().currentKid();
    await idp().rotateKeys();
    expect(idp().currentKid()).not.toBe(oldKid);
    const newToken = await idp().getToken(idp().clients.orders);
    expect((await sidecar().request('/api/orders/1', bearer(newToken))).status).toBe(200);
    expect((await sidecar().request('/api/orders/1', bearer(oldToken))).status).toBe(200);
    expect(sampleValue(await sidecar().metricsText(), 'jwks_key_changes_total', { issuer: idp().issuer, change: 'added' })).toBe(2);
  });

  test('a token whose key the IdP dropped is refused once the JWKS is refetched', async () => {
    const oldToken = await idp().getToken(idp().clients.orders);
    await idp().rotateKeys({ keepPrevious: false });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const newToken = await idp().getToken(idp().clients.orders);
    expect((await sidecar().request('/api/orders/1', bearer(newToken))).status).toBe(200);
    const response = await sidecar().request('/api/orders/1', bearer(oldToken));
    expect(response.status).toBe(401);
    expect(((await response.json()) as { reason: string }).reason).toBe('unknown_key');
  });
});
