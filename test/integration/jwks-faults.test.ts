import { afterEach, describe, expect, test } from 'vitest';
import { startJwksServer } from '../support/jwks-server.js';
import { eventually, sleep } from '../support/eventually.js';
import { bearer, sampleValue, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { createSigningKey, epoch, signWith } from '../support/tokens.js';

const running: Array<{ stop?: () => Promise<void>; shutdown?: () => Promise<void> }> = [];
afterEach(async () => {
  for (const item of running.splice(0)) await (item.shutdown ?? item.stop)!.call(item);
});

async function setup(issuerOverrides: Record<string, unknown> = {}, options: { startDown?: boolean } = {}) {
  const jwks = await startJwksServer();
  running.push(jwks);
  if (options.startDown) jwks.setMode('down');
  const sidecar = await startTestSidecar({
    issuers: [{ issuer: jwks.issuer, audiences: ['orders-api'], fetchTimeout: '300ms', ...issuerOverrides }],
  });
  running.unshift(sidecar);
  const sign = (claims: Record<string, unknown> = {}, kid?: string) => jwks.sign({ aud: 'orders-api', sub: 'u', ...claims }, kid ? { kid } : undefined);
  return { jwks, sidecar, sign };
}

async function status(sidecar: TestSidecar, token: string): Promise<[number, string | undefined]> {
  const response = await sidecar.request('/api/x', bearer(token));
  const body = response.status === 200 ? undefined : ((await response.json()) as { reason: string }).reason;
  return [response.status, body];
}

async function readyz(sidecar: TestSidecar) {
  const response = await fetch(`${sidecar.adminUrl}/readyz`);
  return { status: response.status, body: (await response.json()) as { issuers: Array<{ state: string; reason?: string }> } };
}

describe('IdP faults', () => {
  test('an IdP that is down at start: the sidecar starts, /readyz says why, requests get 503 jwks_unavailable, then it recovers', async () => {
    const { jwks, sidecar, sign } = await setup({ jwksCacheMaxAge: '2s' }, { startDown: true });
    const ready = await readyz(sidecar);
    expect(ready.status).toBe(503);
    expect(ready.body.issuers[0]).toMatchObject({ state: 'loading', reason: expect.stringContaining('network error') });
    expect(await status(sidecar, await sign())).toEqual([503, 'jwks_unavailable']);
    expect(sampleValue(await sidecar.metricsText(), 'idp_up', { issuer: jwks.issuer })).toBe(0);

    jwks.setMode('ok');
    await eventually(async () => expect((await readyz(sidecar)).status).toBe(200), 5000);
    expect(await status(sidecar, await sign())).toEqual([200, undefined]);
    expect(sampleValue(await sidecar.metricsText(), 'idp_up', { issuer: jwks.issuer })).toBe(1);
  });

  test.each([
    ['down', 'error'],
    ['500', 'error'],
    ['invalid-json', 'invalid'],
    ['empty-keys', 'invalid'],
    ['hang', 'timeout'],
  ] as const)('IdP %s after start: last good keys keep working while stale, counted as %s', async (mode, result) => {
    // Only the hang case needs a short deadline; the others keep a margin for a loaded machine's first fetch.
    const { jwks, sidecar, sign } = await setup({ jwksCacheMaxAge: '1s', jwksMaxStale: '1h', fetchTimeout: mode === 'hang' ? '300ms' : '2s' });
    const token = await sign();
    expect(await status(sidecar, token)).toEqual([200, undefined]);
    jwks.setMode(mode);
    await eventually(async () => expect(sampleValue(await sidecar.metricsText(), 'jwks_fetch_total', { result })).toBeGreaterThan(0), 6000);
    await eventually(async () => expect(sampleValue(await sidecar.metricsText(), 'jwks_stale', { issuer: jwks.issuer })).toBe(1), 3000);
    expect(await status(sidecar, token)).toEqual([200, undefined]);
    expect(await status(sidecar, await sign({ sub: 'fresh-token' }))).toEqual([200, undefined]);
    const metrics = await sidecar.metricsText();
    expect(sampleValue(metrics, 'idp_up', { issuer: jwks.issuer })).toBe(0);
    expect((await readyz(sidecar)).status).toBe(200);
  });

  test('past jwksMaxStale requests fail with 503 jwks_unavailable, and recovery brings them back', async () => {
    const { jwks, sidecar, sign } = await setup({ jwksCacheMaxAge: '500ms', jwksMaxStale: '1s' });
    const token = await sign();
    expect(await status(sidecar, token)).toEqual([200, undefined]);
    jwks.setMode('down');
    await eventually(async () => expect(await status(sidecar, token)).toEqual([503, 'jwks_unavailable']), 5000);
    const ready = await readyz(sidecar);
    expect(ready.status).toBe(503);
    expect(ready.body.issuers[0]!.state).toBe('unusable');

    jwks.setMode('ok');
    await eventually(async () => expect(await status(sidecar, token)).toEqual([200, undefined]), 5000);
    const metrics = await sidecar.metricsText();
    expect(sampleValue(metrics, 'idp_up', { issuer: jwks.issuer })).toBe(1);
    expect(sampleValue(metrics, 'jwks_stale', { issuer: jwks.issuer })).toBe(0);
  });

  test('rotation: a token signed by a new key triggers one refetch and validates', async () => {
    const { jwks, sidecar, sign } = await setup({ jwksCooldown: '1h' });
    const before = jwks.fetchCount();
    const newKid = await jwks.rotate();
    expect(await status(sidecar, await sign({}, newKid))).toEqual([200, undefined]);
    expect(jwks.fetchCount() - before).toBe(1);
    expect(sampleValue(await sidecar.metricsText(), 'jwks_key_changes_total', { change: 'added' })).toBeGreaterThanOrEqual(2);
  });

  test('a key removed from the JWKS stops validating after the next refresh, cached tokens included', async () => {
    const { jwks, sidecar, sign } = await setup({ jwksCacheMaxAge: '500ms' });
    const oldKid = jwks.currentKid();
    const token = await sign();
    expect(await status(sidecar, token)).toEqual([200, undefined]);
    expect(await status(sidecar, token)).toEqual([200, undefined]);
    await jwks.rotate({ keepPrevious: false });
    const fetches = jwks.fetchCount();
    await eventually(() => jwks.fetchCount() > fetches, 3000);
    await eventually(async () => expect(await status(sidecar, token)).toEqual([401, 'unknown_key']), 3000);
    expect(sampleValue(await sidecar.metricsText(), 'jwks_key_changes_total', { change: 'removed' })).toBe(1);
    expect(oldKid).not.toBe(jwks.currentKid());
  });

  test('1,000 random kids in a burst cause at most one JWKS fetch', async () => {
    const { jwks, sidecar } = await setup({ jwksCooldown: '30s' });
    const rogue = await createSigningKey('RS256');
    const before = jwks.fetchCount();
    const tokens = await Promise.all(
      Array.from({ length: 1000 }, (_, index) =>
        signWith(rogue.privateKey, { alg: 'RS256', kid: `random-${index}-${Math.random()}` }, { iss: jwks.issuer, aud: 'orders-api', exp: epoch(300), iat: epoch() }),
      ),
    );
    const results = await Promise.all(tokens.map((token) => status(sidecar, token)));
    expect(results.every(([code, reason]) => code === 401 && reason === 'unknown_key')).toBe(true);
    expect(jwks.fetchCount() - before).toBeLessThanOrEqual(1);
    const metrics = await sidecar.metricsText();
    expect(sampleValue(metrics, 'jwks_refetch_throttled_total', { issuer: jwks.issuer })).toBeGreaterThanOrEqual(900);
    expect(sampleValue(metrics, 'token_validation_failure_total', { reason: 'unknown_key' })).toBe(1000);
  });

  test('Cache-Control max-age from the IdP shortens the refresh interval', async () => {
    const jwks = await startJwksServer();
    running.push(jwks);
    jwks.setCacheControl('max-age=1');
    const sidecar = await startTestSidecar({ issuers: [{ issuer: jwks.issuer, audiences: ['a'], jwksCacheMaxAge: '10m', jwksCooldown: '1s' }] });
    running.unshift(sidecar);
    const fetches = jwks.fetchCount();
    await sleep(1600);
    expect(jwks.fetchCount()).toBeGreaterThan(fetches);
  });

  test('discovery naming another issuer is refused', async () => {
    const jwks = await startJwksServer();
    running.push(jwks);
    jwks.setDiscoveryOverrides({ issuer: 'https://impostor.example.com' });
    const sidecar = await startTestSidecar({ issuers: [{ issuer: jwks.issuer, audiences: ['a'] }] });
    running.unshift(sidecar);
    const ready = await readyz(sidecar);
    expect(ready.status).toBe(503);
    expect(ready.body.issuers[0]!.reason).toContain('discovery names issuer');
  });
});
