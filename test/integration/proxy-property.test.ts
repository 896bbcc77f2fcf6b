import { createServer } from 'node:http';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { close, listen, useStarted } from '../support/lifecycle.js';
import { rawRequest } from '../support/raw-http.js';
import { useTestSidecar } from '../support/sidecar.js';
import { createSigningKey, epoch, signWith, unsigned, withClaims } from '../support/tokens.js';

/** An app that only counts the requests that reach it. */
async function startCountingUpstream() {
  let hits = 0;
  const server = createServer((req, res) => {
    hits += 1;
    req.resume();
    res.end('reached');
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, stop: () => close(server) };
}

const jwks = useJwksServer();
const upstream = useStarted(startCountingUpstream);
// No public route: every path, however it normalises, needs a valid token.
const sidecar = useTestSidecar(() => ({
  mode: 'proxy',
  upstream: upstream().url,
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'], jwksCooldown: '1h' }],
  routes: [
    { path: '/api/orders/**', scopes: ['read:orders'] },
    { path: '/api/admin/**', deny: true },
  ],
}));

const claims = { aud: 'orders-api', sub: 'user-1', scope: 'read:orders' };
let valid = '';
let invalid: string[] = [];
beforeAll(async () => {
  valid = await jwks().sign(claims);
  const rogue = await createSigningKey('RS256');
  invalid = [
    await jwks().sign({ ...claims, iat: epoch(-600), exp: epoch(-120) }),
    await jwks().sign({ ...claims, aud: 'another-api' }),
    await jwks().sign({ ...claims, iss: 'https://evil.example' }),
    await jwks().sign({ ...claims, nbf: epoch(600) }),
    await signWith(rogue.privateKey, { alg: 'RS256', kid: jwks().currentKid() }, { ...claims, iss: jwks().issuer, iat: epoch(), exp: epoch(300) }),
    withClaims(valid, { sub: 'admin' }),
    unsigned({ ...claims, iss: jwks().issuer, exp: epoch(300) }, { kid: jwks().currentKid() }),
    'not-a-jwt',
    'a.b.c',
  ];
});

const segment = fc.constantFrom('api', 'orders', 'admin', 'public', '1', '..', '.', '', '%2e%2e', '%2E', '%2F', '%5C', '%00', '%c0%ae', '%61pi', '%6Frders', ';', '..;');
const path = fc.array(segment, { minLength: 1, maxLength: 6 }).map((segments) => `/${segments.join('/')}`);
const query = fc.constantFrom('', '?a=1', '?access_token=VALID', '?access_token=garbage', '?x=%2e%2e/admin');
const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD');
/** Header shapes a client might try; `Bearer <n>` stands for the n-th invalid token, VALID for the valid one. */
const credential = fc.oneof(
  fc.constant<Array<[string, string]>>([]),
  fc.nat().map((index): Array<[string, string]> => [['Authorization', `Bearer ${index}`]]),
  fc.constantFrom<Array<[string, string]>>(
    [['Authorization', 'Basic dXNlcjpwYXNz']],
    [['Authorization', 'Bearer']],
    [['Authorization', 'Bearer VALID'], ['authorization', 'Bearer 0']],
    [['authorization', 'Bearer 1'], ['Authorization', 'Bearer VALID']],
    [['X-Auth-Subject', 'admin'], ['Authorization', 'bearer 2']],
  ),
);

/** Replaces the placeholders: VALID by the valid token, `Bearer <n>` by an invalid one. */
function resolve(text: string): string {
  return text.replace('VALID', valid).replace(/^Bearer (\d+)$/i, (_match, index: string) => `Bearer ${invalid[Number(index) % invalid.length]!}`);
}

describe('property: through the proxy', () => {
  test('a request without a valid token never reaches the upstream', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, query, credential, async (verb, target, search, headers) => {
        const response = await rawRequest(
          sidecar().dataPlaneUrl,
          verb,
          `${target}${resolve(search)}`,
          headers.map(([name, value]): [string, string] => [name, resolve(value)]),
        );
        expect([400, 401, 403]).toContain(response.status);
        expect(upstream().hits()).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  test('the same sidecar does forward a request with a valid token (the property is not vacuous)', async () => {
    const response = await rawRequest(sidecar().dataPlaneUrl, 'GET', '/api/orders/1', [['Authorization', `Bearer ${valid}`]]);
    expect(response.status).toBe(200);
    expect(upstream().hits()).toBe(1);
  });
});
