import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { register as globalRegistry, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { idpEventSourceSchema, idpEventSourcesSchema } from '../../src/config/idp-events.js';
import { ERROR_LABELS } from '../../src/idp-events/error-codes.js';
import { GRANT_TYPE_LABELS } from '../../src/idp-events/grant-types.js';
import { IdpEventsError, idpEventMetrics, startIdpEventFollowers } from '../../src/idp-events/index.js';
import { followingPerTest, issued } from './follow-helpers.js';
import { fixturePath } from './helpers.js';

const start = followingPerTest();

const ISSUER = 'https://idp.example.com/realms/prod';

describe('IdP event metrics', () => {
  it('turns the Keycloak sample log into exact issuance, error, session and line counts', async () => {
    const f = start({ format: 'keycloak', fromBeginning: true, before: (path) => writeFileSync(path, readFileSync(fixturePath('keycloak-plain.txt'))) });
    await f.settle();

    const issuance = (await f.samples('token_issuance_total')).map((s) => [s.labels.grant_type, s.labels.client_id, s.value]);
    expect(issuance).toEqual(
      expect.arrayContaining([
        ['authorization_code', 'web-portal', 1],
        ['authorization_code', 'legacy-app', 1],
        ['client_credentials', 'orders-service', 1],
        ['client_credentials', 'billing-service', 1],
        ['password', 'admin-cli', 1],
        ['refresh_token', 'web-portal', 1],
        ['token_exchange', 'api-gateway', 1],
      ]),
    );
    expect(issuance).toHaveLength(7);

    const errors = (await f.samples('oauth_error_total')).map((s) => [s.labels.error, s.labels.client_id, s.value]);
    expect(errors).toEqual(
      expect.arrayContaining([
        ['invalid_user_credentials', 'web-portal', 1],
        ['invalid_client_credentials', 'orders-service', 1],
        ['invalid_client_credentials', 'legacy-batch', 1],
        ['invalid_code', 'web-portal', 1],
        ['session_expired', 'mobile-app', 1],
        ['other', 'orders-api', 1],
      ]),
    );
    expect(errors).toHaveLength(6);

    expect(await f.value('oauth_logout_total', { issuer: ISSUER, client_id: 'web-portal' })).toBe(1);
    // LOGIN + tokens for a3c1… then LOGOUT; b7c8… (password grant) is still active; c9d0… expired.
    expect(await f.value('active_sessions', { issuer: ISSUER })).toBe(1);
    expect(await f.lines()).toEqual({ parsed: 15, ignored: 5, malformed: 1 });
    for (const sample of await f.samples('token_issuance_total')) expect(sample.labels.issuer).toBe(ISSUER);
  });

  it('estimates active sessions from activity and logouts', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    expect(await f.value('active_sessions', { issuer: ISSUER })).toBe(0);
    appendFileSync(f.path, issued('web', 'authorization_code', { session_id: 's1' }));
    appendFileSync(f.path, issued('web', 'authorization_code', { session_id: 's2' }));
    appendFileSync(f.path, issued('web', 'refresh_token', { session_id: 's1' }));
    await f.settle();
    expect(await f.value('active_sessions', { issuer: ISSUER })).toBe(2);
    appendFileSync(f.path, `${JSON.stringify({ event: 'logout', session_id: 's1' })}\n`);
    await f.settle();
    expect(await f.value('active_sessions', { issuer: ISSUER })).toBe(1);
  });

  it('leaves out sessions whose last activity is older than sessionIdleTimeout', async () => {
    const f = start({ sessionIdleTimeout: '10m', before: (path) => writeFileSync(path, '') });
    await f.settle();
    const now = Date.now();
    appendFileSync(f.path, issued('web', 'refresh_token', { session_id: 'stale', time: now - 11 * 60_000 }));
    appendFileSync(f.path, issued('web', 'refresh_token', { session_id: 'fresh', time: now - 9 * 60_000 }));
    await f.settle();
    expect(await f.value('active_sessions', { issuer: ISSUER })).toBe(1);
  });

  it('keeps the time of the newest event, clamped to now', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    appendFileSync(f.path, issued('a', 'client_credentials', { time: 1_741_598_141_000 }));
    appendFileSync(f.path, issued('a', 'client_credentials', { time: 1_700_000_000_000 }));
    await f.settle();
    expect(await f.value('idp_event_last_timestamp_seconds', { issuer: ISSUER })).toBe(1_741_598_141);
    const before = Date.now() / 1000;
    appendFileSync(f.path, issued('a', 'client_credentials', { time: Date.now() + 3_600_000 }));
    await f.settle();
    const seconds = await f.value('idp_event_last_timestamp_seconds', { issuer: ISSUER });
    expect(seconds).toBeGreaterThanOrEqual(before);
    expect(seconds).toBeLessThanOrEqual(Date.now() / 1000);
  });

  it('caps client_id at clientIdTopN values plus other', async () => {
    const f = start({ deps: { clientIdTopN: 2 }, before: (path) => writeFileSync(path, '') });
    await f.settle();
    for (const client of ['a', 'b', 'c', 'd', 'a']) appendFileSync(f.path, issued(client));
    appendFileSync(f.path, `${JSON.stringify({ event: 'oauth_error', error: 'invalid_client', client_id: 'e' })}\n`);
    await f.settle();
    const issuance = Object.fromEntries((await f.samples('token_issuance_total')).map((s) => [s.labels.client_id, s.value]));
    expect(issuance).toEqual({ a: 2, b: 1, other: 2 });
    expect(await f.value('oauth_error_total', { client_id: 'other', error: 'invalid_client' })).toBe(1);
  });

  it('counts logouts and revocations per client, through the same client_id cap', async () => {
    const f = start({ deps: { clientIdTopN: 2 }, before: (path) => writeFileSync(path, '') });
    await f.settle();
    for (const client of ['a', 'b']) appendFileSync(f.path, issued(client));
    const line = (fields: Record<string, unknown>) => `${JSON.stringify(fields)}\n`;
    appendFileSync(f.path, line({ event: 'logout', client_id: 'a', session_id: 's1' }) + line({ event: 'logout', client_id: 'a' }) + line({ event: 'logout' }));
    appendFileSync(f.path, line({ event: 'revocation', client_id: 'b' }) + line({ event: 'revocation', client_id: 'c' }));
    await f.settle();
    const byClient = async (name: string) => Object.fromEntries((await f.samples(name)).map((s) => [s.labels.client_id, s.value]));
    expect(await byClient('oauth_logout_total')).toEqual({ a: 2, unknown: 1 });
    expect(await byClient('oauth_token_revocation_total')).toEqual({ b: 1, other: 1 });
    for (const sample of await f.samples('oauth_logout_total')) expect(sample.labels.issuer).toBe(ISSUER);
  });

  it('takes grant_type and error label values only from their fixed sets, whatever the log says', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    appendFileSync(f.path, issued('a', 'urn:example:made-up-grant'));
    appendFileSync(f.path, issued('a', 'urn:ietf:params:oauth:grant-type:device_code'));
    appendFileSync(f.path, `${JSON.stringify({ event: 'oauth_error', error: 'x'.repeat(500), client_id: 'a' })}\n`);
    appendFileSync(f.path, `${JSON.stringify({ event: 'oauth_error', error: 'slow_down', client_id: 'a' })}\n`);
    await f.settle();
    const grantTypes = (await f.samples('token_issuance_total')).map((s) => s.labels.grant_type);
    const errors = (await f.samples('oauth_error_total')).map((s) => s.labels.error);
    expect(grantTypes.sort()).toEqual(['device_code', 'other']);
    expect(errors.sort()).toEqual(['other', 'slow_down']);
    for (const value of grantTypes) expect(GRANT_TYPE_LABELS).toContain(value);
    for (const value of errors) expect(ERROR_LABELS).toContain(value);
  });

  it('exposes every line result from the start, at 0', async () => {
    const f = start();
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 0, ignored: 0, malformed: 0 });
    expect((await f.samples('idp_event_lines_total')).map((s) => s.labels.result).sort()).toEqual(['ignored', 'malformed', 'parsed']);
  });

  it('defines the metrics once per registry and never on the global one', () => {
    const registry = new Registry();
    expect(idpEventMetrics(registry)).toBe(idpEventMetrics(registry));
    expect(registry.getSingleMetric('token_issuance_total')).toBeDefined();
    expect(globalRegistry.getSingleMetric('token_issuance_total')).toBeUndefined();
  });

  it('refuses the same file twice, with a stable code', () => {
    const source = idpEventSourceSchema.parse({ path: '/tmp/x.log', format: 'jsonl', issuer: 'i' });
    const startTwice = () => startIdpEventFollowers([source, source], { registry: new Registry(), logger: pino({ level: 'silent' }) });
    expect(startTwice).toThrow(IdpEventsError);
    expect(startTwice).toThrow(expect.objectContaining({ code: 'ERR_IDP_EVENTS_DUPLICATE_PATH' }));
  });
});

describe('idpEvents configuration', () => {
  it('fills in the defaults', () => {
    expect(idpEventSourceSchema.parse({ path: '/var/log/keycloak/events.log', format: 'keycloak', issuer: 'https://idp/realms/prod' })).toEqual({
      path: '/var/log/keycloak/events.log',
      format: 'keycloak',
      issuer: 'https://idp/realms/prod',
      fromBeginning: false,
      sessionIdleTimeout: 30 * 60_000,
    });
  });

  it('rejects unknown keys, unknown formats and bad durations with their key path', () => {
    const result = idpEventSourceSchema.safeParse({ path: '/x', format: 'splunk', issuer: 'i', sessionIdleTimeout: 'soon', extra: 1 });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => issue.path.join('.') || issue.code).sort()).toEqual(['format', 'sessionIdleTimeout', 'unrecognized_keys']);
  });

  it('rejects a list that names a file twice', () => {
    const entry = { path: '/x', format: 'jsonl', issuer: 'i' };
    const result = idpEventSourcesSchema.safeParse([entry, entry]);
    expect(result.error?.issues[0]).toMatchObject({ path: [1, 'path'], message: 'duplicates idpEvents[0].path' });
  });
});
