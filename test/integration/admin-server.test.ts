import { Agent } from 'undici';
import { describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { startTestSidecar, useTestSidecar } from '../support/sidecar.js';

const jwks = useJwksServer();
const config = () => ({ mode: 'authz', authz: { requestSource: 'x-forwarded' }, issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }] });
const sidecar = useTestSidecar(config);

describe('the admin listener', () => {
  test('answers an unknown path with 404 and says which paths it serves', async () => {
    const response = await fetch(`${sidecar().adminUrl}/debug/vars`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: expect.stringContaining('/healthz, /readyz and /metrics') });
  });

  test('refuses methods other than GET and HEAD with 405 and Allow', async () => {
    const response = await fetch(`${sidecar().adminUrl}/metrics`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  test('answers HEAD with the headers of GET and no body', async () => {
    const response = await fetch(`${sidecar().adminUrl}/metrics`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(await response.text()).toBe('');
  });

  test('a scraper keeping its connection alive does not hold up shutdown', async () => {
    const started = await startTestSidecar(config());
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    try {
      const response = await agent.request({ origin: started.adminUrl, path: '/metrics', method: 'GET' });
      await response.body.text();
      const before = performance.now();
      await started.shutdown();
      expect(performance.now() - before).toBeLessThan(1500);
    } finally {
      await agent.close();
    }
  });
});
