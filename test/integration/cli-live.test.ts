import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { runCheckConfig } from '../../src/cli/check-config.js';
import { checkIssuerLive } from '../../src/cli/live-check.js';
import { runInspectToken } from '../../src/cli/inspect-token.js';
import { issuerSchema } from '../../src/config/schema.js';
import { useEmbeddedIdp } from '../support/idp.js';
import { useJwksServer } from '../support/jwks-server.js';
import { createSigningKey, epoch, hmacWithPublicKey } from '../support/tokens.js';

const jwks = useJwksServer();
const idp = useEmbeddedIdp();

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenwatch-cli-live-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  jwks().setMode('ok');
  jwks().setDiscoveryOverrides(undefined);
  jwks().setKeys(undefined);
});

let configCount = 0;
async function configFile(issuer: Record<string, unknown> = {}, policy: Record<string, unknown> = {}): Promise<string> {
  const file = join(dir, `config-${(configCount += 1)}.yaml`);
  const config = { issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'], fetchTimeout: '2s', ...issuer }], ...policy };
  await writeFile(file, stringify(config));
  return file;
}

async function checkConfigLive(file: string) {
  const out = new PassThrough();
  const code = await runCheckConfig(file, { live: true }, out);
  return { code, output: String(out.read() ?? '') };
}

async function inspect(token: string, config?: string, stdinText?: string, request: { method?: string; path?: string } = {}) {
  const out = new PassThrough();
  const stdin = new PassThrough();
  stdin.end(stdinText ?? '');
  const code = await runInspectToken(token, { ...(config === undefined ? {} : { config }), ...request }, { stdin, stdout: out });
  return { code, output: String(out.read() ?? '') };
}

const goodClaims = () => ({ aud: 'orders-api', sub: 'user-1', scope: 'read:orders write:orders' });

describe('check-config --live', () => {
  test('a config that matches its IdP passes and lists the keys without key material', async () => {
    const { code, output } = await checkConfigLive(await configFile());

    expect(code).toBe(0);
    expect(output).toMatch(/discovery\s+✓/);
    expect(output).toMatch(/issuer\s+✓\s+discovery names exactly the configured issuer/);
    expect(output).toMatch(/jwks\s+✓\s+reachable and parseable: 1 key/);
    expect(output).toMatch(/algorithms\s+✓\s+keys for RS256/);
    expect(output).toContain(jwks().currentKid());
    expect(output).toContain('✓ live check passed for 1 issuer');
    const published = (await (await fetch(jwks().jwksUri)).json()) as { keys: Array<{ n: string }> };
    expect(output).not.toContain(published.keys[0]!.n.slice(0, 40));
  });

  test('an unreachable IdP fails with exit code 2 and names the discovery failure', async () => {
    jwks().setMode('down');
    const { code, output } = await checkConfigLive(await configFile());

    expect(code).toBe(2);
    expect(output).toMatch(/discovery\s+✗\s+.*unreachable: network error/);
    expect(output).toContain(`✗ live check failed for ${jwks().issuer}: discovery`);
  });

  test('discovery naming another issuer fails, and the JWKS is still checked', async () => {
    jwks().setDiscoveryOverrides({ issuer: `${jwks().issuer}/` });
    const { code, output } = await checkConfigLive(await configFile());

    expect(code).toBe(2);
    expect(output).toMatch(/issuer\s+✗\s+discovery names .*\/, configured/);
    expect(output).toMatch(/jwks\s+✓/);
    expect(output).toContain(`✗ live check failed for ${jwks().issuer}: issuer`);
  });

  test('configured algorithms that no published key fits fail the algorithm check', async () => {
    const { code, output } = await checkConfigLive(await configFile({ algorithms: ['ES256'] }));

    expect(code).toBe(2);
    expect(output).toMatch(/algorithms\s+✗\s+no usable key for the configured ES256: the keys offer RS256/);
    expect(output).toMatch(/skipped\s+!\s+keys\[0\]: kty RSA alg RS256 fits none of the allowed algorithms/);
  });

  test('a configured jwksUri skips discovery and a failing JWKS fails the check', async () => {
    jwks().setMode('500', 'jwks');
    const discoveriesBefore = jwks().discoveryCount();
    const { code, output } = await checkConfigLive(await configFile({ jwksUri: jwks().jwksUri }));

    expect(code).toBe(2);
    expect(output).toMatch(/discovery\s+-\s+not used: jwksUri is configured/);
    expect(jwks().discoveryCount()).toBe(discoveriesBefore);
    expect(output).toMatch(/jwks\s+✗\s+.*unreachable: HTTP 500/);
  });

  test('keys the sidecar will skip are warned about without failing the check', async () => {
    const published = (await (await fetch(jwks().jwksUri)).json()) as { keys: Array<Record<string, unknown>> };
    const encryptionKey = { ...(await createSigningKey('RS256', 'enc-key')).publicJwk, use: 'enc', alg: 'RSA-OAEP' };
    jwks().setKeys({ keys: [...published.keys, encryptionKey] });

    const report = await checkIssuerLive(issuerSchema.parse({ issuer: jwks().issuer, audiences: ['orders-api'] }));

    expect(report.ok).toBe(true);
    expect(report.checks).toContainEqual({ name: 'skipped', status: 'warn', detail: 'keys[1]: use is enc, not sig (the sidecar will not use it)' });
    expect(report.keys.map((key) => [key.kid, key.use, key.algorithms])).toEqual([
      [jwks().currentKid(), 'sig', ['RS256']],
      ['enc-key', 'enc', ['RSA-OAEP']],
    ]);
  });

  test('a JWKS that is not JSON fails as unparseable', async () => {
    jwks().setMode('invalid-json', 'jwks');
    const report = await checkIssuerLive(issuerSchema.parse({ issuer: jwks().issuer, audiences: ['orders-api'] }));

    expect(report.ok).toBe(false);
    expect(report.checks.find((check) => check.name === 'jwks')).toMatchObject({ status: 'fail', detail: expect.stringContaining('body is not valid JSON') });
  });

  test('a real OpenID provider passes the live check', async () => {
    const file = join(dir, 'embedded-idp.yaml');
    await writeFile(file, stringify({ issuers: [{ issuer: idp().issuer, audiences: ['orders-api'], requireTyp: 'at+jwt' }] }));
    const { code, output } = await checkConfigLive(file);

    expect(code).toBe(0);
    expect(output).toContain(idp().currentKid());
  });
});

describe('inspect-token with a configuration', () => {
  test('a good token passes every check and the validator accepts it', async () => {
    const token = await jwks().sign(goodClaims());
    const { code, output } = await inspect(token, await configFile());

    expect(code).toBe(0);
    expect(output).toMatch(/signature\s+✓\s+valid \(RS256/);
    expect(output).toMatch(/verdict\s+✓\s+accepted by the validator/);
    expect(output).toContain('token scopes: read:orders write:orders');
    expect(output).not.toContain('✗');
    expect(output).not.toContain(token.split('.')[2]);
  });

  test('an expired token shows a valid signature and the expiry, and the validator rejects it as expired', async () => {
    const token = await jwks().sign({ ...goodClaims(), iat: epoch(-480), exp: epoch(-180) });
    const { code, output } = await inspect(token, await configFile());

    expect(code).toBe(1);
    expect(output).toMatch(/signature\s+✓[\s\S]*exp\s+✗\s+expired 3m( 1s)? ago/);
    expect(output).toMatch(/verdict\s+✗\s+rejected by the validator: expired .*HTTP 401 invalid_token/);
    expect(output).not.toContain(token.split('.')[2]);
  });

  test('an expired token with a wrong audience shows both failures', async () => {
    const token = await jwks().sign({ ...goodClaims(), aud: 'billing-api', iat: epoch(-480), exp: epoch(-180) });
    const { code, output } = await inspect(token, await configFile());

    expect(code).toBe(1);
    expect(output).toMatch(/audience\s+✗\s+billing-api is not accepted \(accepted: orders-api\)/);
    expect(output).toMatch(/exp\s+✗\s+expired/);
    expect(output).toMatch(/verdict\s+✗\s+rejected by the validator: invalid_audience/);
  });

  test('a token from an untrusted issuer fails the issuer check and the checks that need it are skipped', async () => {
    const token = await jwks().sign({ ...goodClaims(), iss: `${jwks().issuer}/` });
    const { code, output } = await inspect(token, await configFile());

    expect(code).toBe(1);
    expect(output).toMatch(/issuer\s+✗\s+.* is not a configured issuer \(configured .* differs only in case or a trailing slash/);
    expect(output).toMatch(/signature\s+-\s+not checked/);
    expect(output).toMatch(/verdict\s+✗\s+rejected by the validator: invalid_issuer/);
  });

  test('an HMAC token made with the public key is refused as a disallowed algorithm', async () => {
    const published = (await (await fetch(jwks().jwksUri)).json()) as { keys: JWK[] };
    const token = hmacWithPublicKey(published.keys[0]!, { ...goodClaims(), iss: jwks().issuer, exp: epoch(300) });
    const { code, output } = await inspect(token, await configFile());

    expect(code).toBe(1);
    expect(output).toMatch(/algorithm\s+✗\s+HS256 is never accepted/);
    expect(output).toMatch(/key\s+-\s+not looked up/);
    expect(output).toMatch(/verdict\s+✗\s+rejected by the validator: disallowed_algorithm/);
  });

  test('a kid the JWKS does not publish is named as absent', async () => {
    const retired = jwks().currentKid();
    await jwks().rotate({ keepPrevious: false });
    try {
      const token = await jwks().sign(goodClaims(), { kid: retired });
      const { code, output } = await inspect(token, await configFile());

      expect(code).toBe(1);
      expect(output).toMatch(new RegExp(`key\\s+✗\\s+kid ${retired} is not in the JWKS at all`));
      expect(output).toMatch(/verdict\s+✗\s+rejected by the validator: unknown_key/);
    } finally {
      await jwks().rotate();
    }
  });

  test('an unreachable JWKS fails the key check and the sidecar would answer 503', async () => {
    const token = await jwks().sign(goodClaims());
    jwks().setMode('down');
    const { code, output } = await inspect(token, await configFile());

    expect(code).toBe(1);
    expect(output).toMatch(/key\s+✗\s+the issuer's JWKS is unavailable: discovery: network error/);
    expect(output).toMatch(/verdict\s+✗\s+rejected by the validator: jwks_unavailable .*HTTP 503/);
  });

  test('a token read from standard input with its Bearer prefix is inspected like an argument', async () => {
    const token = await jwks().sign(goodClaims());
    const { code, output } = await inspect('-', await configFile(), `Bearer ${token}\n`);

    expect(code).toBe(0);
    expect(output).not.toContain(token.split('.')[2]);
  });

  test('a real access token passes with the RFC 9068 typ required', async () => {
    const file = join(dir, 'embedded-idp-inspect.yaml');
    await writeFile(file, stringify({ issuers: [{ issuer: idp().issuer, audiences: ['orders-api'], requireTyp: 'at+jwt' }] }));
    const token = await idp().getToken(idp().clients.orders);
    const { code, output } = await inspect(token, file);

    expect(code).toBe(0);
    expect(output).toMatch(/typ\s+✓\s+at\+jwt is the required at\+jwt/);
    expect(output).not.toContain(token.split('.')[2]);
  });
});

describe('inspect-token --method --path: the route and its scopes, decided as the sidecar decides', () => {
  const routes = {
    routes: [
      { path: '/healthz', public: true },
      { path: '/api/orders/**', methods: ['GET'], scopes: ['read:orders'] },
      { path: '/api/orders/**', methods: ['POST'], scopes: ['write:orders'] },
      { path: '/api/reports/**', scopes: ['read:reports', 'export:reports'] },
    ],
    defaultRoute: 'deny',
  };
  const request = (method: string, path: string) => ({ method, path });

  test('a 403 is explained: the route that matched and the scopes the token lacks', async () => {
    const token = await jwks().sign({ ...goodClaims(), scope: 'read:reports' });
    const { code, output } = await inspect(token, await configFile({}, routes), undefined, request('GET', '/api/reports/7'));

    expect(code).toBe(1);
    expect(output).toMatch(/verdict\s+✓\s+accepted by the validator/);
    expect(output).toMatch(/route\s+✓\s+routes\[3\] \/api\/reports\/\*\*: requires read:reports export:reports/);
    expect(output).toMatch(/scopes\s+✗\s+missing export:reports \(the route requires read:reports export:reports; the token has read:reports\)/);
    expect(output).toMatch(/decision\s+✗\s+refused: the sidecar answers HTTP 403 insufficient_scope/);
  });

  test('the method takes part in the match: POST gets the write route', async () => {
    const token = await jwks().sign({ ...goodClaims(), scope: 'read:orders' });
    const { code, output } = await inspect(token, await configFile({}, routes), undefined, request('post', '/api/orders/42'));

    expect(code).toBe(1);
    expect(output).toContain('request POST /api/orders/42');
    expect(output).toMatch(/route\s+✓\s+routes\[2\] \/api\/orders\/\*\* POST: requires write:orders/);
    expect(output).toMatch(/scopes\s+✗\s+missing write:orders/);
  });

  test('a token with the route scopes is allowed and the exit code is 0', async () => {
    const token = await jwks().sign(goodClaims());
    const { code, output } = await inspect(token, await configFile({}, routes), undefined, request('GET', '/api/orders/42?expand=items'));

    expect(code).toBe(0);
    expect(output).toMatch(/path\s+✓\s+\/api\/orders\/42 \(the query takes no part in route matching\)/);
    expect(output).toMatch(/scopes\s+✓\s+has every required scope: read:orders/);
    expect(output).toMatch(/decision\s+✓\s+allowed/);
  });

  test('a path no route matches falls to the default route, and deny says so', async () => {
    const token = await jwks().sign(goodClaims());
    const { code, output } = await inspect(token, await configFile({}, routes), undefined, request('GET', '/api/users'));

    expect(code).toBe(1);
    expect(output).toMatch(/route\s+✗\s+no route matches GET \/api\/users: defaultRoute deny/);
    expect(output).toMatch(/decision\s+✗\s+refused: the sidecar answers HTTP 403 route_denied/);
  });

  test('the path is normalised first, so a dot-segment trick is matched as the path the app would serve', async () => {
    const token = await jwks().sign(goodClaims());
    const { code, output } = await inspect(token, await configFile({}, routes), undefined, request('GET', '/api/orders/%2e%2e/reports/1'));

    expect(code).toBe(1);
    expect(output).toMatch(/path\s+✓\s+\/api\/orders\/%2e%2e\/reports\/1 is matched as \/api\/reports\/1/);
    expect(output).toMatch(/routes\[3\]/);
  });

  test('a path refused before any match is answered 400', async () => {
    const token = await jwks().sign(goodClaims());
    const { code, output } = await inspect(token, await configFile({}, routes), undefined, request('GET', '/api/%2Forders'));

    expect(code).toBe(1);
    expect(output).toMatch(/path\s+✗\s+.* is refused before any route is matched/);
    expect(output).toMatch(/decision\s+✗\s+refused: the sidecar answers HTTP 400 malformed/);
  });
});
