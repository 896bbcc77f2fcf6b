import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { useJwksServer } from '../support/jwks-server.js';
import { rawRequest, type RawResponse } from '../support/raw-http.js';
import { sampleValue, useTestSidecar, type TestSidecar } from '../support/sidecar.js';

/**
 * Where forward-auth mode reads the original request from: Traefik's X-Forwarded-Method/-Uri, NGINX's
 * X-Original-Method/-URI, or Envoy's request line after authz.pathPrefix; and what `auto` does with them.
 */

const jwks = useJwksServer();

const ROUTES = [
  { path: '/healthz', public: true },
  { path: '/api/orders/**', methods: ['GET'], scopes: ['read:orders'] },
  { path: '/api/orders/**', methods: ['POST'], scopes: ['write:orders'] },
];

function useSidecarReadingFrom(authz: Record<string, string>): () => TestSidecar {
  return useTestSidecar(() => ({
    mode: 'authz',
    authz,
    issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
    routes: ROUTES,
  }));
}

let reader = '';
beforeAll(async () => {
  reader = `Bearer ${await jwks().sign({ aud: 'orders-api', sub: 'user-1', client_id: 'orders-ui', scope: 'read:orders' })}`;
});

/** The headers Traefik describes the original request with. */
function xForwarded(method: string, uri: string): Array<[string, string]> {
  return [
    ['X-Forwarded-Method', method],
    ['X-Forwarded-Uri', uri],
  ];
}

/** The headers the NGINX example describes the original request with. */
function xOriginal(method: string, uri: string): Array<[string, string]> {
  return [
    ['X-Original-Method', method],
    ['X-Original-URI', uri],
  ];
}

function check(sidecar: TestSidecar, target: string, headers: Array<[string, string]>, method = 'GET'): Promise<RawResponse> {
  return rawRequest(sidecar.dataPlaneUrl, method, target, headers);
}

describe('requestSource: x-forwarded (Traefik forwardAuth)', () => {
  const sidecar = useSidecarReadingFrom({ requestSource: 'x-forwarded' });

  test('the request described by X-Forwarded-Method and X-Forwarded-Uri is allowed, with the identity headers', async () => {
    const response = await check(sidecar(), '/', [...xForwarded('GET', '/api/orders/1'), ['Authorization', reader]]);
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({ 'x-auth-subject': 'user-1', 'x-auth-client-id': 'orders-ui', 'x-auth-scopes': 'read:orders' });
  });

  test('the policy is that of the forwarded path, not of the check request path', async () => {
    const response = await check(sidecar(), '/healthz', xForwarded('GET', '/api/orders/1'));
    expect(response.status).toBe(401);
  });

  test('the policy is that of the forwarded method', async () => {
    const response = await check(sidecar(), '/', [...xForwarded('POST', '/api/orders'), ['Authorization', reader]]);
    expect(response.status).toBe(403);
  });

  test('X-Original-* headers are ignored', async () => {
    const response = await check(sidecar(), '/', [
      ...xForwarded('GET', '/api/orders/1'),
      ...xOriginal('GET', '/healthz'),
    ]);
    expect(response.status).toBe(401);
  });

  test('a missing X-Forwarded-Method is a malformed request (400)', async () => {
    const response = await check(sidecar(), '/', [['X-Forwarded-Uri', '/api/orders/1'], ['Authorization', reader]]);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'invalid_request' });
  });

  test('a repeated X-Forwarded-Uri is a malformed request (400)', async () => {
    const response = await check(sidecar(), '/', [
      ...xForwarded('GET', '/healthz'),
      ['X-Forwarded-Uri', '/api/orders/1'],
    ]);
    expect(response.status).toBe(400);
  });

  test('a method that is not an upper-case token is a malformed request (400)', async () => {
    const response = await check(sidecar(), '/', [...xForwarded('get', '/api/orders/1'), ['Authorization', reader]]);
    expect(response.status).toBe(400);
  });

  test('a dot-segment trick in X-Forwarded-Uri gets the policy of the normalised path', async () => {
    const headers = xForwarded('GET', '/healthz/../api/orders/1');
    expect((await check(sidecar(), '/', headers)).status).toBe(401);
    expect((await check(sidecar(), '/', [...headers, ['Authorization', reader]])).status).toBe(200);
  });

  test('an access_token in the X-Forwarded-Uri query together with an Authorization header is a malformed request (400)', async () => {
    const token = reader.slice('Bearer '.length);
    const response = await check(sidecar(), '/', [
      ...xForwarded('GET', `/api/orders/1?access_token=${token}`),
      ['Authorization', reader],
    ]);
    expect(response.status).toBe(400);
    expect(response.body).not.toContain(token.split('.')[1]);
  });
});

describe('requestSource: x-original (NGINX auth_request)', () => {
  const sidecar = useSidecarReadingFrom({ requestSource: 'x-original' });

  test('the request described by X-Original-Method and X-Original-URI is allowed', async () => {
    const response = await check(sidecar(), '/_tokenwatch', [
      ...xOriginal('GET', '/api/orders/1'),
      ['Authorization', reader],
    ]);
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-subject']).toBe('user-1');
  });

  test('without a token it is refused with 401', async () => {
    const response = await check(sidecar(), '/_tokenwatch', xOriginal('GET', '/api/orders/1'));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="tokenwatch"');
  });

  test('X-Forwarded-* headers are ignored', async () => {
    const response = await check(sidecar(), '/_tokenwatch', [
      ...xOriginal('GET', '/api/orders/1'),
      ...xForwarded('GET', '/healthz'),
    ]);
    expect(response.status).toBe(401);
  });

  test('a missing X-Original-Method is a malformed request (400)', async () => {
    const response = await check(sidecar(), '/_tokenwatch', [['X-Original-URI', '/healthz']]);
    expect(response.status).toBe(400);
  });
});

describe('requestSource: request-line with authz.pathPrefix (Envoy ext_authz)', () => {
  const sidecar = useSidecarReadingFrom({ requestSource: 'request-line', pathPrefix: '/authz' });

  test('GET /authz/api/orders/1 checks GET /api/orders/1', async () => {
    const response = await check(sidecar(), '/authz/api/orders/1', [['Authorization', reader]]);
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-scopes']).toBe('read:orders');
    expect((await check(sidecar(), '/authz/api/orders/1', [])).status).toBe(401);
  });

  test('the method of the check request is the method checked', async () => {
    const response = await check(sidecar(), '/authz/api/orders', [['Authorization', reader]], 'POST');
    expect(response.status).toBe(403);
  });

  test('the query stays with the path', async () => {
    const token = reader.slice('Bearer '.length);
    const response = await check(sidecar(), `/authz/api/orders/1?access_token=${token}`, [['Authorization', reader]]);
    expect(response.status).toBe(400);
  });

  test('a path outside the prefix is 404', async () => {
    expect((await check(sidecar(), '/api/orders/1', [['Authorization', reader]])).status).toBe(404);
    expect((await check(sidecar(), '/authzapi/orders/1', [['Authorization', reader]])).status).toBe(404);
  });

  test('a dot-segment after the prefix gets the policy of the normalised path', async () => {
    expect((await check(sidecar(), '/authz/healthz/../api/orders/1', [])).status).toBe(401);
  });

  test('X-Forwarded-* and X-Original-* headers are ignored', async () => {
    const response = await check(sidecar(), '/authz/api/orders/1', [
      ...xForwarded('GET', '/healthz'),
      ...xOriginal('GET', '/healthz'),
    ]);
    expect(response.status).toBe(401);
  });
});

describe('requestSource: auto', () => {
  const sidecar = useSidecarReadingFrom({ requestSource: 'auto' });

  test('X-Forwarded-* alone is read', async () => {
    const response = await check(sidecar(), '/', [...xForwarded('GET', '/api/orders/1'), ['Authorization', reader]]);
    expect(response.status).toBe(200);
  });

  test('X-Original-* alone is read', async () => {
    const response = await check(sidecar(), '/', xOriginal('GET', '/api/orders/1'));
    expect(response.status).toBe(401);
  });

  test('both families naming the same request are allowed', async () => {
    const response = await check(sidecar(), '/', [
      ...xForwarded('GET', '/api/orders/1'),
      ...xOriginal('GET', '/api/orders/1'),
      ['Authorization', reader],
    ]);
    expect(response.status).toBe(200);
  });

  test('both families naming different paths are a malformed request (400)', async () => {
    const response = await check(sidecar(), '/', [
      ...xForwarded('GET', '/healthz'),
      ...xOriginal('GET', '/api/orders/1'),
      ['Authorization', reader],
    ]);
    expect(response.status).toBe(400);
  });

  test('both families naming different methods are a malformed request (400)', async () => {
    const response = await check(sidecar(), '/', [
      ...xForwarded('GET', '/api/orders/1'),
      ...xOriginal('POST', '/api/orders/1'),
      ['Authorization', reader],
    ]);
    expect(response.status).toBe(400);
  });

  test('without either family the request line is read', async () => {
    expect((await check(sidecar(), '/api/orders/1', [])).status).toBe(401);
    expect((await check(sidecar(), '/healthz', [])).status).toBe(200);
  });

  // Why deployments set requestSource explicitly: without a path prefix, auto reads headers a client could send.
  test('without a path prefix, a client-sent X-Forwarded-* pair takes precedence over the request line', async () => {
    const response = await check(sidecar(), '/api/orders/1', xForwarded('GET', '/healthz'));
    expect(response.status).toBe(200);
  });
});

describe('requestSource: auto with a path prefix (Envoy)', () => {
  const sidecar = useSidecarReadingFrom({ requestSource: 'auto', pathPrefix: '/authz' });

  test('the request line is the only source: client-sent header families are ignored', async () => {
    const response = await check(sidecar(), '/authz/api/orders/1', [...xForwarded('GET', '/healthz'), ...xOriginal('GET', '/healthz')]);
    expect(response.status).toBe(401);
  });

  test('a 200 lists the identity headers it did not set for Envoy to remove', async () => {
    const publicRoute = await check(sidecar(), '/authz/healthz', [['X-Auth-Client-Id', 'spoofed']]);
    expect(publicRoute.status).toBe(200);
    expect(publicRoute.headers['x-envoy-auth-headers-to-remove']).toBe('x-auth-subject,x-auth-client-id,x-auth-scopes');
    expect(publicRoute.headers['x-auth-client-id']).toBeUndefined();
  });
});

describe('identity header aliases: a check carrying one is refused, whatever the source, so no allow lets it through', () => {
  const traefik = useSidecarReadingFrom({ requestSource: 'x-forwarded' });
  const nginx = useSidecarReadingFrom({ requestSource: 'x-original' });
  const envoy = useSidecarReadingFrom({ requestSource: 'request-line', pathPrefix: '/authz' });

  async function expectSpoofRefusal(response: RawResponse): Promise<void> {
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'invalid_request', reason: 'identity_header_spoof' });
    expect(response.headers['www-authenticate']).toContain('error="invalid_request"');
    expect(response.headers['x-auth-subject']).toBeUndefined();
  }

  test('Traefik: X_Auth_Subject with a valid token gets 400 identity_header_spoof, not an allow', async () => {
    await expectSpoofRefusal(await check(traefik(), '/', [...xForwarded('GET', '/api/orders/1'), ['Authorization', reader], ['X_Auth_Subject', 'admin']]));
  });

  test('NGINX: an alias on a public route gets 400 identity_header_spoof, not an allow', async () => {
    await expectSpoofRefusal(await check(nginx(), '/', [...xOriginal('GET', '/healthz'), ['x.auth.subject', 'admin']]));
  });

  test('Envoy: an alias that reached the check gets 400 identity_header_spoof, not an allow', async () => {
    await expectSpoofRefusal(await check(envoy(), '/authz/api/orders/1', [['Authorization', reader], ['X-AUTH_SCOPES', 'admin']]));
  });

  test('the exact identity header spelling is still allowed, to be overwritten by the proxy as before', async () => {
    const response = await check(traefik(), '/', [...xForwarded('GET', '/api/orders/1'), ['Authorization', reader], ['X-Auth-Subject', 'admin']]);
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-subject']).toBe('user-1');
  });

  test('a refused alias is counted in identity_header_spoof_total{mode="authz"} and audited by name only', async () => {
    const before = sampleValue(await traefik().metricsText(), 'identity_header_spoof_total', { mode: 'authz' });
    await check(traefik(), '/', [...xForwarded('GET', '/api/orders/1?access_token=in-query'), ['X_Auth_Client_Id', 'forged-value']]);
    expect(sampleValue(await traefik().metricsText(), 'identity_header_spoof_total', { mode: 'authz' })).toBe(before + 1);
    const event = traefik().logs.findLast((line) => line.event === 'identity_header_spoof')!;
    expect(event).toMatchObject({ mode: 'authz', method: 'GET', path: '/api/orders/1', headers: ['X_Auth_Client_Id'] });
    expect(JSON.stringify(event)).not.toContain('forged-value');
    expect(JSON.stringify(event)).not.toContain('in-query');
  });
});

describe('the example tokenwatch configurations', () => {
  const expected: Record<string, Record<string, string>> = {
    nginx: { requestSource: 'x-original', pathPrefix: '' },
    traefik: { requestSource: 'x-forwarded', pathPrefix: '' },
    envoy: { requestSource: 'request-line', pathPrefix: '/authz' },
    istio: { requestSource: 'request-line', pathPrefix: '/authz' },
  };

  test.each(Object.keys(expected))('deploy/examples/%s/tokenwatch.yaml is valid and names its request source', (proxy) => {
    const path = `deploy/examples/${proxy}/tokenwatch.yaml`;
    const config = parseConfigText(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'), path, {});
    expect(config.mode).toBe('authz');
    expect(config.authz).toEqual(expected[proxy]);
  });
});
