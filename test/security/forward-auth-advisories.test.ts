import { describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { rawExchange, rawRequest, type RawResponse } from '../support/raw-http.js';
import { useTestSidecar, type TestSidecar } from '../support/sidecar.js';

/**
 * Peers' published advisories, replayed as raw bytes at tokenwatch in `mode: authz`. Here the proxy, not
 * tokenwatch, forwards the request: what must never happen is a 200 (an allow) for an attack, or a 5xx that a proxy
 * configured to fail open (Envoy's failure_mode_allow) would turn into one. test/security/README.md lists the
 * advisories read and those that do not apply.
 */

const jwks = useJwksServer();
const ROUTES = [
  { path: '/healthz', public: true },
  { path: '/api/orders/**', scopes: ['read:orders'] },
];
const sidecarReading = (authz: Record<string, string>): (() => TestSidecar) =>
  useTestSidecar(() => ({ mode: 'authz', authz, issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }], routes: ROUTES }));

const traefik = sidecarReading({ requestSource: 'x-forwarded' });
const nginx = sidecarReading({ requestSource: 'x-original' });
const envoy = sidecarReading({ requestSource: 'request-line', pathPrefix: '/authz' });
const auto = sidecarReading({ requestSource: 'auto' });

const bearer = async () => `Bearer ${await jwks().sign({ aud: 'orders-api', sub: 'user-1', scope: 'read:orders' })}`;

function expectRefusedByTokenwatch(response: RawResponse, status: number): void {
  expect(response.status).toBe(status);
  expect(response.headers['x-auth-subject']).toBeUndefined();
}

describe('header smuggling', () => {
  test('oauth2-proxy GHSA-vjrc-mh2v-45x6 behind Traefik: a check carrying X_Auth_Subject is refused, so Traefik forwards nothing', async () => {
    const response = await rawRequest(traefik().dataPlaneUrl, 'GET', '/', [
      ['X-Forwarded-Method', 'GET'],
      ['X-Forwarded-Uri', '/api/orders/1'],
      ['Authorization', await bearer()],
      ['X_Auth_Subject', 'admin'],
    ]);
    expectRefusedByTokenwatch(response, 400);
    expect(JSON.parse(response.body)).toMatchObject({ reason: 'identity_header_spoof' });
  });

  test('oauth2-proxy GHSA-vjrc-mh2v-45x6 behind NGINX with underscores_in_headers on: a public route is refused too', async () => {
    const response = await rawRequest(nginx().dataPlaneUrl, 'GET', '/', [
      ['X-Original-Method', 'GET'],
      ['X-Original-URI', '/healthz'],
      ['x_auth_subject', 'admin'],
    ]);
    expectRefusedByTokenwatch(response, 400);
  });

  test('Envoy GHSA-ghc4-35x6-crw5 (multi-value header concatenation): two Authorization headers are refused, not merged or picked from', async () => {
    const response = await rawRequest(envoy().dataPlaneUrl, 'GET', '/authz/api/orders/1', [
      ['Authorization', await bearer()],
      ['Authorization', 'Bearer forged'],
    ]);
    expectRefusedByTokenwatch(response, 400);
  });
});

describe('path confusion', () => {
  test('Ory Oathkeeper GHSA-p224-6x5r-fjpm (path traversal past a public rule) in X-Original-URI: the resolved path is checked', async () => {
    const response = await rawRequest(nginx().dataPlaneUrl, 'GET', '/', [
      ['X-Original-Method', 'GET'],
      ['X-Original-URI', '/healthz/%2e%2e/api/orders/1'],
    ]);
    expectRefusedByTokenwatch(response, 401);
  });

  test('Envoy CVE-2019-9901 (unnormalised path) in the ext_authz check path: /authz/healthz/../api/orders/1 needs a token', async () => {
    const response = await rawExchange(envoy().dataPlaneUrl, 'GET /authz/healthz/../api/orders/1 HTTP/1.1\r\nHost: tokenwatch\r\nConnection: close\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
  });
});

describe('Host and X-Forwarded-* trust', () => {
  test('Envoy GHSA-5375-pq35-hf2g (forged x-envoy-original-path): the check path is what is checked', async () => {
    const response = await rawRequest(envoy().dataPlaneUrl, 'GET', '/authz/api/orders/1', [['X-Envoy-Original-Path', '/healthz']]);
    expectRefusedByTokenwatch(response, 401);
  });

  test('oauth2-proxy GHSA-7x63-xv5r-3p2x (spoofed X-Forwarded-Uri skips auth) behind Envoy: client-sent X-Forwarded-* is ignored', async () => {
    const response = await rawRequest(envoy().dataPlaneUrl, 'GET', '/authz/api/orders/1', [
      ['X-Forwarded-Method', 'GET'],
      ['X-Forwarded-Uri', '/healthz'],
    ]);
    expectRefusedByTokenwatch(response, 401);
  });

  test('oauth2-proxy GHSA-7x63-xv5r-3p2x with requestSource auto: a client-added second family that disagrees is refused', async () => {
    const response = await rawRequest(auto().dataPlaneUrl, 'GET', '/', [
      ['X-Forwarded-Method', 'GET'],
      ['X-Forwarded-Uri', '/api/orders/1'],
      ['X-Original-Method', 'GET'],
      ['X-Original-URI', '/healthz'],
    ]);
    expectRefusedByTokenwatch(response, 400);
  });
});

describe('fail-open proxies', () => {
  test.each([
    ['a path with a NUL byte', '/api/orders/%00'],
    ['a path with an encoded slash', '/api%2forders/1'],
    ['a path with invalid percent-encoding', '/api/orders/%zz'],
  ])('Envoy GHSA-gq3v-vvhj-96j6 (invalid check bypasses ext_authz under failure_mode_allow): %s gets a 4xx, never a 5xx', async (_name, path) => {
    const response = await rawRequest(envoy().dataPlaneUrl, 'GET', `/authz${path}`, [['Authorization', await bearer()]]);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });
});
