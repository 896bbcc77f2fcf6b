import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { useDemoUpstream, useEmbeddedIdp, type DemoUpstreamEcho } from '../support/idp.js';
import { useNginx } from '../support/nginx.js';
import { rawRequest } from '../support/raw-http.js';
import { useTestSidecar } from '../support/sidecar.js';

/**
 * A real NGINX running deploy/examples/nginx/tokenwatch.conf in front of the echoing upstream, with tokenwatch as its
 * auth_request backend and tokens from a real OIDC provider: what a client and the app see through the proxy.
 */

const EXAMPLE = readFileSync(new URL('../../deploy/examples/nginx/tokenwatch.conf', import.meta.url), 'utf8');

const idp = useEmbeddedIdp();
const app = useDemoUpstream();
const sidecar = useTestSidecar(() => ({
  mode: 'authz',
  authz: { requestSource: 'x-original' },
  issuers: [{ issuer: idp().issuer, audiences: ['orders-api'], requireTyp: 'at+jwt' }],
  routes: [
    { path: '/healthz', public: true },
    { path: '/api/orders/**', methods: ['GET'], scopes: ['read:orders'] },
    { path: '/api/orders/**', methods: ['POST'], scopes: ['write:orders'] },
  ],
}));
const nginx = useNginx((listen) =>
  exampleWith({
    'listen 8000;': `listen ${listen};`,
    'server 127.0.0.1:8080;': `server ${new URL(sidecar().dataPlaneUrl).host};`,
    'server 127.0.0.1:3000;': `server ${new URL(app().url).host};`,
  }),
);

/** The example with its addresses replaced; each must occur exactly once, so a changed example fails loudly. */
function exampleWith(replacements: Record<string, string>): string {
  let config = EXAMPLE;
  for (const [from, to] of Object.entries(replacements)) {
    expect(config.split(from).length - 1, `occurrences of "${from}" in the example`).toBe(1);
    config = config.replace(from, to);
  }
  return config;
}

async function viaNginx(method: string, target: string, headers: Array<[string, string]> = []) {
  return rawRequest(nginx().url, method, target, headers);
}

function echoOf(body: string): DemoUpstreamEcho {
  return JSON.parse(body) as DemoUpstreamEcho;
}

describe('NGINX auth_request with tokenwatch', () => {
  test('a token with the route scope reaches the app with the identity headers NGINX set from the check', async () => {
    const token = await idp().getToken(idp().clients.orders);
    const response = await viaNginx('GET', '/api/orders/1?expand=items', [['Authorization', `Bearer ${token}`]]);

    expect(response.status).toBe(200);
    const echo = echoOf(response.body);
    expect(echo.url).toBe('/api/orders/1?expand=items');
    expect(echo.headers).toMatchObject({
      'x-auth-subject': 'orders-service',
      'x-auth-client-id': 'orders-service',
      'x-auth-scopes': 'read:orders write:orders',
    });
  });

  test('a client-sent X-Auth-Subject is replaced by the one tokenwatch vouches for', async () => {
    const token = await idp().getToken(idp().clients.orders);
    const response = await viaNginx('GET', '/api/orders/1', [
      ['Authorization', `Bearer ${token}`],
      ['X-Auth-Subject', 'admin'],
    ]);

    expect(response.status).toBe(200);
    expect(echoOf(response.body).headers['x-auth-subject']).toBe('orders-service');
  });

  test('a public route reaches the app without a token and without any client-sent identity header', async () => {
    const response = await viaNginx('GET', '/healthz', [
      ['X-Auth-Subject', 'admin'],
      ['X-Auth-Scopes', 'read:orders'],
    ]);

    expect(response.status).toBe(200);
    const { headers } = echoOf(response.body);
    expect(headers['x-auth-subject']).toBeUndefined();
    expect(headers['x-auth-scopes']).toBeUndefined();
  });

  test('X_Auth_Subject and X.Auth.Subject sent with a valid token never reach the app: NGINX ignores such names by default', async () => {
    const token = await idp().getToken(idp().clients.orders);
    const response = await viaNginx('GET', '/api/orders/1', [
      ['Authorization', `Bearer ${token}`],
      ['X_Auth_Subject', 'admin'],
      ['X.Auth.Subject', 'admin'],
    ]);

    expect(response.status).toBe(200);
    const { headers } = echoOf(response.body);
    expect(Object.keys(headers).filter((name) => name.replace(/[^a-z0-9]/g, '-') === 'x-auth-subject')).toEqual(['x-auth-subject']);
    expect(headers['x-auth-subject']).toBe('orders-service');
  });

  test('no token gets 401 with the Bearer challenge and never reaches the app', async () => {
    const before = app().received;
    const response = await viaNginx('GET', '/api/orders/1');

    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="tokenwatch"');
    expect(app().received).toBe(before);
  });

  test('a token without the route scope gets 403 with the insufficient_scope challenge', async () => {
    const token = await idp().getToken(idp().clients.reporting);
    const before = app().received;
    const response = await viaNginx('GET', '/api/orders/1', [['Authorization', `Bearer ${token}`]]);

    expect(response.status).toBe(403);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="tokenwatch", error="insufficient_scope", error_description="the token lacks a scope this route requires", scope="read:orders"',
    );
    expect(app().received).toBe(before);
  });

  test('the original method is what is checked: a POST needs write:orders', async () => {
    const token = await idp().getToken(idp().clients.reporting);
    const response = await postOrder(token, '{"item":"book"}');
    expect(response.status).toBe(403);
  });

  test('a request body reaches the app but not the check', async () => {
    const body = '{"item":"book"}';
    const response = await postOrder(await idp().getToken(idp().clients.orders), body);

    expect(response.status).toBe(200);
    const echo = (await response.json()) as DemoUpstreamEcho;
    expect(echo).toMatchObject({ method: 'POST', url: '/api/orders' });
    expect(echo.headers['content-length']).toBe(String(body.length));
  });

  test('a dot-segment path is checked as the path it resolves to', async () => {
    const response = await viaNginx('GET', '/healthz/../api/orders/1');
    expect(response.status).toBe(401);
  });

  test('client-sent X-Forwarded-* headers cannot choose the path that is checked', async () => {
    const response = await viaNginx('GET', '/api/orders/1', [
      ['X-Forwarded-Method', 'GET'],
      ['X-Forwarded-Uri', '/healthz'],
      ['X-Original-URI', '/healthz'],
    ]);
    expect(response.status).toBe(401);
  });

  test('a malformed request (token in the header and the query) gets 400, not the 500 auth_request makes of it', async () => {
    const token = await idp().getToken(idp().clients.orders);
    const response = await viaNginx('GET', `/api/orders/1?access_token=${token}`, [['Authorization', `Bearer ${token}`]]);
    expect(response.status).toBe(400);
  });
});

function postOrder(token: string, body: string): Promise<Response> {
  return fetch(`${nginx().url}/api/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
}

describe('NGINX auth_request with underscores_in_headers on', () => {
  const permissive = useNginx((listen) =>
    exampleWith({
      'listen 8000;': `listen ${listen};`,
      'server 127.0.0.1:8080;': `server ${new URL(sidecar().dataPlaneUrl).host};`,
      'server 127.0.0.1:3000;': `server ${new URL(app().url).host};`,
      'underscores_in_headers off;': 'underscores_in_headers on;',
    }),
  );

  test('an X_Auth_Subject that NGINX lets through is refused by tokenwatch with 400 and never reaches the app', async () => {
    const token = await idp().getToken(idp().clients.orders);
    const before = app().received;
    const response = await rawRequest(permissive().url, 'GET', '/api/orders/1', [
      ['Authorization', `Bearer ${token}`],
      ['X_Auth_Subject', 'admin'],
    ]);

    expect(response.status).toBe(400);
    expect(app().received).toBe(before);
  });
});

describe('NGINX auth_request when tokenwatch is unreachable', () => {
  // Port 1 on loopback refuses connections: the auth subrequest fails as it would with tokenwatch down.
  const nginxWithoutTokenwatch = useNginx((listen) =>
    exampleWith({
      'listen 8000;': `listen ${listen};`,
      'server 127.0.0.1:8080;': 'server 127.0.0.1:1;',
      'server 127.0.0.1:3000;': `server ${new URL(app().url).host};`,
    }),
  );

  test('requests fail closed with 503 and never reach the app', async () => {
    const token = await idp().getToken(idp().clients.orders);
    const before = app().received;
    const response = await rawRequest(nginxWithoutTokenwatch().url, 'GET', '/api/orders/1', [['Authorization', `Bearer ${token}`]]);
    expect(response.status).toBe(503);
    expect(app().received).toBe(before);
  });
});
