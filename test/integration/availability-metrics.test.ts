import { createServer } from 'node:http';
import { describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { close, listen, useStarted } from '../support/lifecycle.js';
import { bearer, sampleValue, startTestSidecar, useTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { compact, epoch } from '../support/tokens.js';

/** An app that answers 500 on /api/broken, never answers /api/hang, and 200 otherwise. */
async function startUpstream() {
  const server = createServer((request, response) => {
    if (request.url === '/api/hang') return;
    response.writeHead(request.url === '/api/broken' ? 500 : 200).end();
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, stop: () => close(server) };
}

const idp = useJwksServer();
const downIdp = useJwksServer();
const upstream = useStarted(startUpstream);
const issuers = () => [
  { issuer: idp().issuer, audiences: ['orders-api'], jwksCacheMaxAge: '10m', jwksMaxStale: '2h' },
  { issuer: downIdp().issuer, audiences: ['orders-api'] },
];
const routes = [{ path: '/api/**' }];
const authz = useTestSidecar(() => {
  downIdp().setMode('down');
  return { issuers: issuers(), routes };
});
const proxy = useTestSidecar(() => ({ mode: 'proxy', upstream: upstream().url, upstreamTimeout: '300ms', issuers: issuers(), routes }));

const valid = () => idp().sign({ aud: 'orders-api', sub: 'u' });
/** A token of the issuer whose keys never loaded: refused with 503 jwks_unavailable. */
const keyless = () => compact({ alg: 'RS256', kid: 'k' }, { aud: 'orders-api', sub: 'u', iss: downIdp().issuer, exp: epoch(60) }, 'c2ln');

/** How much each named series moved while `act` ran. */
async function movedBy(sidecar: TestSidecar, act: () => Promise<unknown>, series: Record<string, [string, Record<string, string>]>) {
  const before = await sidecar.metricsText();
  await act();
  const after = await sidecar.metricsText();
  const moved: Record<string, number> = {};
  for (const [key, [name, labels]] of Object.entries(series)) moved[key] = sampleValue(after, name, labels) - sampleValue(before, name, labels);
  return moved;
}

const requests = (mode: string) => ['tokenwatch_requests_total', { mode }] as [string, Record<string, string>];
const errors = (mode: string, cause: string) => ['tokenwatch_request_errors_total', { mode, cause }] as [string, Record<string, string>];

describe('the availability SLI counters', () => {
  test('a forward-auth check counts one request and, when refused for want of keys, one jwks_unavailable error', async () => {
    const moved = await movedBy(
      authz(),
      async () => {
        expect((await authz().request('/api/a', bearer(await valid()))).status).toBe(200);
        expect((await authz().request('/api/a', bearer(keyless()))).status).toBe(503);
        expect((await authz().request('/api/a')).status).toBe(401);
      },
      { requests: requests('authz'), keys: errors('authz', 'jwks_unavailable') },
    );
    expect(moved).toEqual({ requests: 3, keys: 1 });
  });

  test('an upstream that does not answer in time is a proxy upstream_timeout error; its own 500 is not an error of tokenwatch', async () => {
    const token = await valid();
    const moved = await movedBy(
      proxy(),
      async () => {
        expect((await proxy().request('/api/hang', bearer(token))).status).toBe(504);
        expect((await proxy().request('/api/broken', bearer(token))).status).toBe(500);
      },
      { requests: requests('proxy'), timeout: errors('proxy', 'upstream_timeout'), failed: errors('proxy', 'upstream_failed') },
    );
    expect(moved).toEqual({ requests: 2, timeout: 1, failed: 0 });
  });

  test('an upstream that cannot be reached is a proxy upstream_unreachable error', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await close(closed);
    const unreachable = await startTestSidecar({ mode: 'proxy', upstream: `http://127.0.0.1:${port}`, issuers: issuers(), routes });
    try {
      const moved = await movedBy(unreachable, async () => expect((await unreachable.request('/api/a', bearer(await valid()))).status).toBe(502), {
        requests: requests('proxy'),
        unreachable: errors('proxy', 'upstream_unreachable'),
      });
      expect(moved).toEqual({ requests: 1, unreachable: 1 });
    } finally {
      await unreachable.shutdown();
    }
  });

  test('every cause of both counters exists at zero from start-up, labelled with the serving mode only', async () => {
    const text = await authz().metricsText();
    expect(text).toContain('tokenwatch_request_errors_total{mode="authz",cause="connection_shed"} 0');
    expect(text).not.toContain('mode="proxy"');
  });
});

describe('jwks_usable_until_timestamp_seconds', () => {
  test('is the last successful fetch plus the max age plus jwksMaxStale, and absent for an issuer whose keys never loaded', async () => {
    const text = await authz().metricsText();
    const lastSuccess = sampleValue(text, 'jwks_last_success_timestamp_seconds', { issuer: idp().issuer });
    const usableUntil = sampleValue(text, 'jwks_usable_until_timestamp_seconds', { issuer: idp().issuer });
    expect(lastSuccess).toBeGreaterThan(0);
    expect(usableUntil - lastSuccess).toBeCloseTo(600 + 7200, 0);
    expect(text).not.toContain(`jwks_usable_until_timestamp_seconds{issuer="${downIdp().issuer}"}`);
  });
});
