import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { rawRequest } from '../support/raw-http.js';
import { useTestSidecar } from '../support/sidecar.js';
import { b64url } from '../support/tokens.js';

const jwks = useJwksServer();
const sidecar = useTestSidecar(() => ({
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'], jwksCooldown: '1h' }],
  routes: [{ path: '/api/orders/**', scopes: ['read:orders'] }],
  logLevel: 'error',
}));

const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)), { maxKeys: 6 });

/** Tokens that look more and more like real ones: garbage, three parts, real JSON with hostile claims. */
function hostileTokens(issuer: string) {
  const header = fc.record({
    alg: fc.constantFrom('RS256', 'none', 'HS256', 'ES256', 'PS256', 'EdDSA', 'RS1', ''),
    kid: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    typ: fc.option(fc.constantFrom('JWT', 'at+jwt'), { nil: undefined }),
  });
  const claims = fc.record({
    iss: fc.constantFrom(issuer, `${issuer}/`, 'https://evil', ''),
    aud: fc.oneof(fc.constant('orders-api'), fc.array(fc.string(), { maxLength: 3 })),
    exp: fc.oneof(fc.integer(), fc.double(), fc.constant(1e20)),
    scope: fc.string(),
  });
  return fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.stringMatching(/^[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}$/),
    fc.tuple(fc.oneof(header, jsonObject), fc.oneof(claims, jsonObject), fc.uint8Array({ maxLength: 300 })).map(
      ([h, c, signature]) => `${b64url(h)}.${b64url(c)}.${b64url(signature)}`,
    ),
  );
}

const scheme = fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ', 'Basic ', '', 'Bearer\t', 'Token ');

describe('property: random Authorization headers and tokens', () => {
  test('never 2xx, never 5xx other than 503 jwks_unavailable, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(scheme, hostileTokens(jwks().issuer), fc.boolean(), async (prefix, token, twice) => {
        const value = `${prefix}${token}`.replace(/[\r\n\0]/g, '');
        const headers: Array<[string, string]> = [['Authorization', value]];
        if (twice) headers.push(['authorization', value]);
        const response = await rawRequest(sidecar().dataPlaneUrl, 'GET', '/api/orders/1', headers);
        expect(response.status).toBeGreaterThanOrEqual(400);
        if (response.status >= 500) {
          expect(response.status).toBe(503);
          expect(JSON.parse(response.body).reason).toBe('jwks_unavailable');
        }
        expect(response.body).not.toContain(token.length > 16 ? token : '\u0000');
      }),
      { numRuns: 400 },
    );
    expect((await fetch(`${sidecar().adminUrl}/healthz`)).status).toBe(200);
  });
});
