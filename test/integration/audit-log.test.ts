import { describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { bearer, useTestSidecar } from '../support/sidecar.js';

const jwks = useJwksServer();
const everySuccess = useTestSidecar(() => ({
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
  routes: [{ path: '/api/orders/**', methods: ['GET'], scopes: ['read:orders'] }],
}));
const noSuccess = useTestSidecar(() => ({
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
  auditLog: { successSampleRate: 0 },
}));

const events = (logs: Array<Record<string, unknown>>) => logs.filter((line) => line.event === 'token_validated');

describe('audit log', () => {
  test('one token_validated event per validation with the seed fields plus route, method and status', async () => {
    const token = await jwks().sign({ aud: 'orders-api', sub: 'u', client_id: 'orders-service', scope: 'read:orders', gty: 'client-credentials' });
    const before = events(everySuccess().logs).length;
    await everySuccess().request('/api/orders/1', { headers: { ...bearer(token).headers, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } as Record<string, string> });
    await everySuccess().request('/api/orders/1', bearer(`${token.slice(0, -4)}AAAA`));
    const [success, failure] = events(everySuccess().logs).slice(before);
    expect(success).toMatchObject({
      event: 'token_validated',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      client_id: 'orders-service',
      grant_type: 'client-credentials',
      scopes: ['read:orders'],
      validation_result: 'success',
      auth_server: jwks().issuer,
      route: '/api/orders/**',
      method: 'GET',
      status: 200,
      cache: 'miss',
    });
    expect(typeof success!.duration_ms).toBe('number');
    expect(success!.failure_reason).toBeUndefined();
    expect(failure).toMatchObject({ validation_result: 'failure', failure_reason: 'invalid_signature', status: 401, auth_server: jwks().issuer });
  });

  test('successes are sampled by successSampleRate; failures are always logged', async () => {
    const token = await jwks().sign({ aud: 'orders-api', sub: 'u' });
    for (let index = 0; index < 5; index++) await noSuccess().request('/x', bearer(token));
    await noSuccess().request('/x');
    const logged = events(noSuccess().logs);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ failure_reason: 'missing_token', status: 401 });
  });
});
