import { beforeEach, describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { useStarted } from '../support/lifecycle.js';
import { rawExchange, rawRequest } from '../support/raw-http.js';
import { useTestSidecar } from '../support/sidecar.js';
import { asAppReads, startRecordingUpstream } from './recording-upstream.js';

/**
 * Peers' published advisories, replayed as raw bytes at tokenwatch in `mode: proxy` in front of a real app on
 * loopback. Each test asserts that nothing reaches the app with a forged identity or past the policy it should have
 * had. test/security/README.md lists the advisories read and those that do not apply.
 */

const jwks = useJwksServer();
const app = useStarted(startRecordingUpstream);
const sidecar = useTestSidecar(() => ({
  mode: 'proxy',
  upstream: app().url,
  upstreamTimeout: '1s',
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
  claimHeaders: { sub: 'x-auth-subject', scope: 'x-auth-scopes', email: 'remote-user' },
  routes: [
    { path: '/public/**', public: true },
    { path: '/api/orders/**', scopes: ['read:orders'] },
    { path: '/api/admin/**', scopes: ['admin'] },
  ],
}));

const ordersToken = () => jwks().sign({ aud: 'orders-api', sub: 'user-1', email: 'u1@example.com', scope: 'read:orders' });
const host = () => new URL(sidecar().dataPlaneUrl).host;

/** Requests that reached the app during the current test. */
let seenBefore = 0;
beforeEach(() => {
  seenBefore = app().arrivals.length;
});
const reached = () => app().arrivals.slice(seenBefore);

describe('header smuggling', () => {
  test('oauth2-proxy GHSA-vjrc-mh2v-45x6 (header smuggling via underscore): X_Auth_Subject never reaches the app as the identity', async () => {
    const response = await rawRequest(sidecar().dataPlaneUrl, 'GET', '/api/orders/1', [
      ['X_Auth_Subject', 'admin'],
      ['Authorization', `Bearer ${await ordersToken()}`],
      ['Remote_User', 'admin@example.com'],
      ['x.auth.scopes', 'admin'],
    ]);
    expect(response.status).toBe(200);
    const [arrival] = reached();
    expect(asAppReads(arrival!.rawHeaders, 'x-auth-subject')).toEqual(['user-1']);
    expect(asAppReads(arrival!.rawHeaders, 'remote-user')).toEqual(['u1@example.com']);
    expect(asAppReads(arrival!.rawHeaders, 'x-auth-scopes')).toEqual(['read:orders']);
  });

  test('oauth2-proxy GHSA-vjrc-mh2v-45x6 on a public route: no client spelling of an identity header reaches the app', async () => {
    await rawRequest(sidecar().dataPlaneUrl, 'GET', '/public/page', [
      ['X_AUTH_SUBJECT', 'admin'],
      ['x_auth-role', 'superuser'],
      ['REMOTE.USER', 'admin@example.com'],
    ]);
    const [arrival] = reached();
    for (const name of ['x-auth-subject', 'x-auth-role', 'remote-user']) expect(asAppReads(arrival!.rawHeaders, name)).toEqual([]);
  });

  test('Envoy GHSA-ghc4-35x6-crw5 (multi-value header concatenation): a second Authorization header is refused, not merged or picked from', async () => {
    const response = await rawRequest(sidecar().dataPlaneUrl, 'GET', '/api/admin/users', [
      ['Authorization', `Bearer ${await ordersToken()}`],
      ['Authorization', 'Bearer forged'],
    ]);
    expect(response.status).toBe(400);
    expect(reached()).toEqual([]);
  });
});

describe('path confusion', () => {
  test.each(['/public/../api/admin/users', '/public/%2e%2e/api/admin/users', '/public/..%2fapi/admin/users', '/public%2f..%2fapi/admin/users', '/public/.%2E/api/admin/users'])(
    'Ory Oathkeeper GHSA-p224-6x5r-fjpm and Envoy CVE-2019-9901 (path traversal past a public rule): %s never reaches the app unauthenticated',
    async (target) => {
      const response = await rawRequest(sidecar().dataPlaneUrl, 'GET', target, []);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(reached().filter((arrival) => !arrival.url.startsWith('/public/'))).toEqual([]);
    },
  );

  test('oauth2-proxy GHSA-7rh7-c77v-6434 (skip-auth rule matched against the query): /api/admin/users?/public/ still needs a token', async () => {
    const response = await rawRequest(sidecar().dataPlaneUrl, 'GET', '/api/admin/users?x=/public/page', []);
    expect(response.status).toBe(401);
    expect(reached()).toEqual([]);
  });

  test('oauth2-proxy GHSA-pxq7-h93f-9jrg (a fragment widening a skip-auth pattern): /api/admin/users#/public/ still needs a token', async () => {
    const response = await rawExchange(sidecar().dataPlaneUrl, `GET /api/admin/users#/public/page HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect(reached()).toEqual([]);
  });
});

describe('Host and X-Forwarded-* trust', () => {
  test('oauth2-proxy GHSA-7x63-xv5r-3p2x (spoofed X-Forwarded-Uri skips auth): the path checked is the path forwarded', async () => {
    const response = await rawRequest(sidecar().dataPlaneUrl, 'GET', '/api/admin/users', [
      ['X-Forwarded-Uri', '/public/page'],
      ['X-Original-URI', '/public/page'],
      ['X-Envoy-Original-Path', '/public/page'],
      ['X-Forwarded-Prefix', '/public'],
    ]);
    expect(response.status).toBe(401);
    expect(reached()).toEqual([]);
  });

  test('Ory Oathkeeper GHSA-vhr5-ggp3-qq85 (untrusted X-Forwarded-Proto and -Host used in rule matching): they change no decision', async () => {
    const response = await rawRequest(sidecar().dataPlaneUrl, 'GET', '/api/admin/users', [
      ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-Host', 'public.internal'],
      ['Forwarded', 'host=public.internal;proto=https'],
    ]);
    expect(response.status).toBe(401);
    expect(reached()).toEqual([]);
  });

  test('an absolute-form target naming another host is decided, and forwarded, by its path alone', async () => {
    const response = await rawExchange(sidecar().dataPlaneUrl, `GET http://public.internal/api/admin/users HTTP/1.1\r\nHost: public.internal\r\nConnection: close\r\n\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect(reached()).toEqual([]);
  });
});

describe('request smuggling', () => {
  const smuggled = (framing: string) =>
    `POST /public/form HTTP/1.1\r\nHost: ${host()}\r\n${framing}\r\n0\r\n\r\nGET /api/admin/users HTTP/1.1\r\nHost: ${host()}\r\nX_Auth_Subject: admin\r\n\r\n`;

  test.each([
    ['Content-Length and Transfer-Encoding together', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n'],
    ['a Transfer-Encoding with trailing whitespace', 'Content-Length: 5\r\nTransfer-Encoding: chunked \r\n'],
    ['two different Content-Length values', 'Content-Length: 5\r\nContent-Length: 60\r\n'],
    ['Transfer-Encoding other than chunked last', 'Transfer-Encoding: chunked, identity\r\n'],
  ])('Envoy CL/TE smuggling fixes (envoyproxy/envoy#9316): %s smuggles no request past the gate', async (_name, framing) => {
    const response = await rawExchange(sidecar().dataPlaneUrl, smuggled(framing));
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(reached().filter((arrival) => arrival.url.startsWith('/api/'))).toEqual([]);
  });

  test('Envoy GHSA-rj35-4m94-77jh (early data after an upgrade): bytes sent after a refused h2c upgrade reach nothing', async () => {
    const response = await rawExchange(
      sidecar().dataPlaneUrl,
      `GET /public/page HTTP/1.1\r\nHost: ${host()}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\nGET /api/admin/users HTTP/1.1\r\nHost: ${host()}\r\n\r\n`,
    );
    expect(response).not.toMatch(/^HTTP\/1\.1 101 /);
    expect(reached().filter((arrival) => arrival.url.startsWith('/api/'))).toEqual([]);
  });

  test('Envoy GHSA-rj35-4m94-77jh with CONNECT: no tunnel to the app is opened', async () => {
    const upstreamAuthority = new URL(app().url).host;
    const response = await rawExchange(sidecar().dataPlaneUrl, `CONNECT ${upstreamAuthority} HTTP/1.1\r\nHost: ${upstreamAuthority}\r\n\r\nGET /api/admin/users HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(response).not.toMatch(/^HTTP\/1\.1 200 /);
    expect(reached()).toEqual([]);
  });
});

describe('cached verdicts', () => {
  test('Ory Oathkeeper GHSA-4mq7-pvjg-xp2r (cache key confusion): a token cached as valid for one route does not pass another', async () => {
    const token = await ordersToken();
    expect((await rawRequest(sidecar().dataPlaneUrl, 'GET', '/api/orders/1', [['Authorization', `Bearer ${token}`]])).status).toBe(200);
    const response = await rawRequest(sidecar().dataPlaneUrl, 'GET', '/api/admin/users', [['Authorization', `Bearer ${token}`]]);
    expect(response.status).toBe(403);
    expect(reached().filter((arrival) => arrival.url.startsWith('/api/admin/'))).toEqual([]);
  });
});
