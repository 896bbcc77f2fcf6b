import { describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { bearer, sampleValue, useTestSidecar } from '../support/sidecar.js';
import { withClaims } from '../support/tokens.js';

const jwks = useJwksServer();
const sidecar = useTestSidecar(() => ({
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
  routes: [
    { path: '/api/rollout/**', enforcement: 'report-only', scopes: ['read:orders'] },
    { path: '/api/orders/**', scopes: ['read:orders'] },
  ],
}));

describe('report-only enforcement', () => {
  test('an invalid token is let through with no identity headers, and is logged and counted as the failure it is', async () => {
    const token = withClaims(await jwks().sign({ aud: 'orders-api', sub: 'mallory', scope: 'read:orders' }), { sub: 'admin' });
    const before = sampleValue(await sidecar().metricsText(), 'token_validation_failure_total', { reason: 'invalid_signature', issuer: jwks().issuer });
    const response = await sidecar().request('/api/rollout/1', bearer(token));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-auth-subject')).toBeNull();
    expect(response.headers.get('x-auth-scopes')).toBeNull();
    const after = sampleValue(await sidecar().metricsText(), 'token_validation_failure_total', { reason: 'invalid_signature', issuer: jwks().issuer });
    expect(after - before).toBe(1);
    const event = sidecar().logs.findLast((line) => line.event === 'token_validated');
    expect(event).toMatchObject({
      validation_result: 'failure',
      failure_reason: 'invalid_signature',
      route: '/api/rollout/**',
      enforcement: 'report-only',
      let_through: true,
      status: 200,
    });
  });

  test('a missing token and a missing scope are let through too, and counted', async () => {
    expect((await sidecar().request('/api/rollout/1')).status).toBe(200);
    const token = await jwks().sign({ aud: 'orders-api', sub: 'u', scope: 'other' });
    expect((await sidecar().request('/api/rollout/1', bearer(token))).status).toBe(200);
    const metrics = await sidecar().metricsText();
    expect(sampleValue(metrics, 'token_validation_failure_total', { reason: 'missing_token', issuer: 'unknown' })).toBe(1);
    expect(sampleValue(metrics, 'token_validation_failure_total', { reason: 'insufficient_scope', issuer: jwks().issuer })).toBe(1);
  });

  test('routes that enforce still refuse', async () => {
    const token = withClaims(await jwks().sign({ aud: 'orders-api', sub: 'u', scope: 'read:orders' }), { sub: 'admin' });
    expect((await sidecar().request('/api/orders/1', bearer(token))).status).toBe(401);
  });
});
