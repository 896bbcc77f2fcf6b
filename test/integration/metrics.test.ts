import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { FAILURE_REASONS } from '../../src/auth/reasons.js';
import { requestPerFailureReason } from '../support/failing-requests.js';
import { useJwksServer } from '../support/jwks-server.js';
import { bearer, sampleValue, useTestSidecar } from '../support/sidecar.js';
import { epoch } from '../support/tokens.js';
import { promtoolCheckMetrics } from '../support/tools.js';

const idp = useJwksServer();
const downIdp = useJwksServer();
const sidecar = useTestSidecar(() => {
  downIdp().setMode('down');
  return {
    issuers: [
      { issuer: idp().issuer, audiences: ['orders-api'], jwksCooldown: '100ms' },
      { issuer: downIdp().issuer, audiences: ['orders-api'] },
    ],
    routes: [{ path: '/api/orders/**', scopes: ['read:orders'] }],
  };
});

const claims = (extra: Record<string, unknown> = {}) => ({ aud: 'orders-api', sub: 'u', scope: 'read:orders write:orders', ...extra });

const failingRequests = () => requestPerFailureReason(idp(), downIdp().issuer);

describe('metrics on /metrics', () => {
  test('each failure reason moves token_validation_failure_total{reason, issuer} and token_validation_total{result="failure"} by one', async () => {
    const cases = await failingRequests();
    expect(cases.map(([reason]) => reason).sort()).toEqual([...FAILURE_REASONS].sort());
    for (const [reason, init, issuer] of cases) {
      const before = await sidecar().metricsText();
      const response = await sidecar().request('/api/orders/1', init);
      expect(response.status, reason).toBeGreaterThanOrEqual(400);
      const after = await sidecar().metricsText();
      const moved = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
      expect(moved('token_validation_failure_total', { reason, issuer }), reason).toBe(1);
      expect(moved('token_validation_total', { result: 'failure', issuer }), reason).toBe(1);
      expect(moved('token_validation_total', { result: 'success' }), reason).toBe(0);
      const durations = (cache: string) => moved('token_validation_duration_seconds_count', { result: 'failure', cache });
      expect(durations('hit') + durations('miss'), reason).toBe(1);
    }
  });

  test('a success, then a cache hit, move the success, cache, latency, lifetime, age and scope series', async () => {
    const token = await idp().sign(claims({ iat: epoch(-5), exp: epoch(895) }));
    const before = await sidecar().metricsText();
    expect((await sidecar().request('/api/orders/1', bearer(token))).status).toBe(200);
    expect((await sidecar().request('/api/orders/2', bearer(token))).status).toBe(200);
    const after = await sidecar().metricsText();
    const moved = (name: string, labels: Record<string, string> = {}) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
    const issuer = idp().issuer;
    expect(moved('token_validation_total', { result: 'success', issuer })).toBe(2);
    expect(moved('token_validation_duration_seconds_count', { result: 'success', cache: 'miss' })).toBe(1);
    expect(moved('token_validation_duration_seconds_count', { result: 'success', cache: 'hit' })).toBe(1);
    expect(moved('token_cache_misses_total')).toBe(1);
    expect(moved('token_cache_hits_total')).toBe(1);
    expect(sampleValue(after, 'token_cache_entries')).toBeGreaterThanOrEqual(1);
    expect(moved('token_lifetime_seconds_count', { issuer })).toBe(1);
    expect(moved('token_lifetime_seconds_bucket', { issuer, le: '900' })).toBe(1);
    expect(moved('token_lifetime_seconds_bucket', { issuer, le: '600' })).toBe(0);
    expect(moved('token_age_seconds_bucket', { issuer, le: '30' })).toBe(1);
    expect(moved('token_validation_scope_total', { scope: 'read:orders' })).toBe(2);
    expect(moved('token_validation_scope_total', { scope: 'other' })).toBe(2);
    expect(after).not.toContain('scope="write:orders"');
  });

  test('a JWKS miss and refetch move the JWKS series', async () => {
    const newKid = await idp().addKey('RS256');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const before = await sidecar().metricsText();
    const issuer = idp().issuer;
    expect((await sidecar().request('/api/orders/1', bearer(await idp().sign(claims(), { kid: newKid })))).status).toBe(200);
    const after = await sidecar().metricsText();
    const moved = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(moved('jwks_cache_request_total', { issuer })).toBe(2);
    expect(moved('jwks_cache_miss_total', { issuer })).toBe(1);
    expect(moved('jwks_fetch_total', { issuer, result: 'success' })).toBe(1);
    expect(moved('jwks_key_changes_total', { issuer, change: 'added' })).toBe(1);
    expect(sampleValue(after, 'jwks_keys', { issuer })).toBe(2);
    expect(moved('idp_request_duration_seconds_count', { issuer, endpoint: 'jwks' })).toBe(1);
    expect(sampleValue(after, 'jwks_last_success_timestamp_seconds', { issuer })).toBeGreaterThan(Date.now() / 1000 - 10);
  });

  test('IdP health is reported per issuer, with every configured issuer present from the start', async () => {
    const text = await sidecar().metricsText();
    expect(sampleValue(text, 'idp_up', { issuer: idp().issuer })).toBe(1);
    expect(sampleValue(text, 'idp_up', { issuer: downIdp().issuer })).toBe(0);
    expect(sampleValue(text, 'jwks_fetch_total', { issuer: downIdp().issuer, result: 'error' })).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^tokenwatch_build_info\{version="\d+\.\d+\.\d+"\} 1$/m);
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  test('throttled refetches are counted from zero for every configured issuer before the first one', async () => {
    const text = await sidecar().metricsText();
    expect(text).toContain(`jwks_refetch_throttled_total{issuer="${downIdp().issuer}"} 0`);
  });

  test('no token or part of one appears in the exposition', async () => {
    const token = await idp().sign(claims());
    await sidecar().request('/api/orders/1', bearer(token));
    const text = await sidecar().metricsText();
    for (const part of token.split('.')) expect(text).not.toContain(part);
  });

  test('every tokenwatch metric on /metrics is documented in docs/metrics.md', async () => {
    const names = new Set<string>();
    for (const line of (await sidecar().metricsText()).split('\n')) {
      const match = /^# TYPE (\S+) /.exec(line);
      // prom-client's default process and runtime metrics are documented as a group.
      if (match && !/^(process|nodejs)_/.test(match[1]!)) names.add(match[1]!);
    }
    expect(names.size).toBeGreaterThan(20);
    const documentation = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const missing = [...names].filter((name) => !documentation.includes(`\`${name}\``) && !documentation.includes(`\`${name}{`));
    expect(missing).toEqual([]);
  });

  test('the exposition passes promtool check metrics with no findings', async () => {
    const { code, output } = await promtoolCheckMetrics(await sidecar().metricsText());
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
