import { describe, expect, test } from 'vitest';
import { AuthFailure } from '../../src/auth/errors.js';
import { validateConfig } from '../../src/config/load.js';
import { createDetection, STEP_MS, type Anomaly } from '../../src/detection/index.js';
import { poissonUpperTail } from '../../src/detection/poisson.js';
import { RateSeries } from '../../src/detection/rate-series.js';
import type { ValidationRecord } from '../../src/server/gate/ports.js';

const ISSUER = 'https://idp.example.com';

/** The detectors of a configuration on a virtual clock, with what they told their observer. */
function virtualDetection(anomaly: Record<string, unknown> = {}) {
  const config = validateConfig(
    { issuers: [{ issuer: ISSUER, audiences: ['api'] }], anomaly: { warmup: '5m', alertmanager: { urls: ['http://127.0.0.1:9'] }, ...anomaly } },
    'test',
  );
  let nowMs = 1_700_000_000_000;
  const firing = new Map<string, Anomaly>();
  const resolved: Array<{ anomaly: Anomaly; atMs: number }> = [];
  const detection = createDetection(
    config.anomaly,
    { validationIssuers: [ISSUER], eventIssuers: [ISSUER] },
    { firing: (a) => firing.set(a.key, a), resolved: (a, atMs) => (firing.delete(a.key), resolved.push({ anomaly: a, atMs })) },
    () => nowMs,
  );
  return {
    detection,
    firing,
    resolved,
    get nowMs() {
      return nowMs;
    },
    /** Runs `seconds` steps, calling `each` before every one. */
    run(seconds: number, each: (second: number) => void = () => {}) {
      for (let second = 0; second < seconds; second++) {
        each(second);
        nowMs += STEP_MS;
        detection.engine.step(nowMs);
      }
    },
  };
}

function failureReport(reason: 'invalid_signature' | 'unknown_key', issuer = ISSUER): ValidationRecord {
  const failure = new AuthFailure(reason, 'test');
  failure.context = { issuer, kid: undefined, cache: 'miss' };
  return { failure, issuer } as unknown as ValidationRecord;
}

describe('a rate series', () => {
  test('scores a series at 0 against the floor, so one event is never an anomaly', () => {
    const series = new RateSeries({ factor: 10, minRate: 1, windowMs: 10_000, baselineMs: 1_800_000, stepMs: 1000 });
    for (let i = 0; i < 600; i++) series.fold();
    series.pending = 1;
    series.fold();
    expect(series.baseline).toBeLessThan(0.01);
    expect(series.score).toBeCloseTo(1, 5);
  });

  test('judges a window against steps that have left it, so the first seconds of a spike cannot hide it', () => {
    const series = new RateSeries({ factor: 10, minRate: 1, windowMs: 10_000, baselineMs: 600_000, stepMs: 1000 });
    for (let i = 0; i < 300; i++) (series.pending = 2), series.fold();
    for (let i = 0; i < 10; i++) (series.pending = 40), series.fold();
    expect(series.baseline).toBe(2);
    expect(series.score).toBe(20);
  });

  test('leaves its baseline alone while the series is anomalous', () => {
    const series = new RateSeries({ factor: 10, minRate: 1, windowMs: 10_000, baselineMs: 600_000, stepMs: 1000 });
    for (let i = 0; i < 300; i++) (series.pending = 2), series.fold();
    for (let i = 0; i < 600; i++) (series.pending = 40), series.fold(true);
    expect(series.baseline).toBe(2);
  });

  test('finds a count the baseline explains unsurprising, and one it cannot explain surprising', () => {
    const series = new RateSeries({ factor: 10, minRate: 1, windowMs: 10_000, baselineMs: 600_000, stepMs: 1000 });
    for (let i = 0; i < 300; i++) (series.pending = i % 10 === 0 ? 1 : 0), series.fold();
    series.pending = 3;
    series.fold();
    expect(series.surprise).toBeGreaterThan(0.01);
    series.pending = 20;
    series.fold();
    expect(series.surprise).toBeLessThan(1e-12);
  });
});

describe('the Poisson tail', () => {
  test('matches the exact sums', () => {
    expect(poissonUpperTail(0, 3)).toBe(1);
    expect(poissonUpperTail(1, 2)).toBeCloseTo(1 - Math.exp(-2), 9);
    // Reference values summed term by term with lgamma (Python's math module).
    expect(poissonUpperTail(12, 1) / 8.316107426882347e-10).toBeCloseTo(1, 6);
    expect(poissonUpperTail(1000, 1000)).toBeCloseTo(0.5042052441800837, 9);
  });
});

describe('the failure-burst detector', () => {
  test('raises ValidationFailureAnomaly for an invalid_signature burst within seconds, and resolves it after', () => {
    const clock = virtualDetection();
    const gate = clock.detection.gate!;
    clock.run(600, (s) => s % 20 === 0 && gate.validated(failureReport('invalid_signature')));
    expect(clock.firing.size).toBe(0);
    const burstStart = clock.nowMs;
    let detectedAfterMs: number | undefined;
    clock.run(60, () => {
      for (let i = 0; i < 20; i++) gate.validated(failureReport('invalid_signature'));
      if (detectedAfterMs === undefined && clock.firing.size > 0) detectedAfterMs = clock.nowMs - burstStart;
    });
    expect(detectedAfterMs).toBeLessThanOrEqual(2000);
    const [anomaly] = [...clock.firing.values()];
    expect(anomaly).toMatchObject({ detector: 'failure_burst', labels: { issuer: ISSUER, reason: 'invalid_signature' }, observed: '20/s' });
    expect(anomaly!.score).toBeGreaterThan(10);
    const burstEnd = clock.nowMs;
    clock.run(60);
    expect(clock.firing.size).toBe(0);
    expect(clock.resolved[0]!.atMs - burstEnd).toBeLessThanOrEqual(10_000);
    expect(clock.resolved[0]!.anomaly.startsAtMs).toBe(anomaly!.startsAtMs);
  });

  test('stays silent during its warmup, however large the burst', () => {
    const clock = virtualDetection();
    const gate = clock.detection.gate!;
    clock.run(200, () => gate.validated(failureReport('invalid_signature')));
    expect(clock.firing.size).toBe(0);
  });

  test('counts a kid spray and tokens of foreign issuers in fixed series, however many kids and issuers', () => {
    const clock = virtualDetection();
    const gate = clock.detection.gate!;
    clock.run(600);
    clock.run(30, (s) => {
      for (let i = 0; i < 50; i++) gate.validated(failureReport('unknown_key', `https://attacker-${s}-${i}.example`));
    });
    expect([...clock.firing.values()].map((a) => a.labels)).toEqual([{ issuer: 'unknown', reason: 'unknown_key' }]);
  });
});

describe('the issuance-spike detector', () => {
  test('takes a change lasting a whole baseline period for the new normal, and resolves', () => {
    const clock = virtualDetection({ issuanceSpike: { baseline: '10m' } });
    const events = clock.detection.idpEvents!;
    const issue = (count: number) => () => {
      for (let i = 0; i < count; i++) events.observed(ISSUER, { outcome: 'issued', grantType: 'client_credentials', clientId: 'orders' });
    };
    clock.run(600, issue(2));
    clock.run(30, issue(40));
    expect(clock.firing.size).toBe(1);
    clock.run(560, issue(40));
    expect(clock.firing.size).toBe(1);
    clock.run(20, issue(40));
    expect(clock.firing.size).toBe(0);
    expect(clock.resolved).toHaveLength(1);
  });

  test('tracks at most trackedClients clients per issuer, the rest as other', () => {
    const clock = virtualDetection({ trackedClients: 3 });
    const events = clock.detection.idpEvents!;
    clock.run(400, (s) => events.observed(ISSUER, { outcome: 'issued', grantType: 'client_credentials', clientId: `client-${s}` }));
    clock.run(30, () => {
      for (let i = 0; i < 30; i++) events.observed(ISSUER, { outcome: 'issued', grantType: 'client_credentials', clientId: `new-${i}` });
    });
    expect([...clock.firing.values()].map((a) => a.labels.client_id)).toEqual(['other']);
  });
});

describe('the IdP-unreachable detector', () => {
  test('fires once fetches have failed for the grace period and resolves at the next success', () => {
    const clock = virtualDetection({ idpUnreachable: { grace: '30s' } });
    clock.detection.idpFetched!(ISSUER, 'jwks', 'timeout');
    clock.run(29);
    expect(clock.firing.size).toBe(0);
    clock.run(2);
    expect([...clock.firing.values()][0]).toMatchObject({ detector: 'idp_unreachable', labels: { issuer: ISSUER, endpoint: 'jwks' } });
    clock.detection.idpFetched!(ISSUER, 'jwks', 'success');
    clock.run(1);
    expect(clock.resolved).toHaveLength(1);
  });
});

describe('the refresh-token-reuse detector', () => {
  test('fires when one refresh-token id is presented twice, and when the IdP reports a reuse', () => {
    const clock = virtualDetection();
    const events = clock.detection.idpEvents!;
    events.observed(ISSUER, { outcome: 'issued', grantType: 'refresh_token', clientId: 'web', refreshTokenId: 'rt-1' });
    clock.run(1);
    expect(clock.firing.size).toBe(0);
    events.observed(ISSUER, { outcome: 'issued', grantType: 'refresh_token', clientId: 'web', refreshTokenId: 'rt-1' });
    events.observed(ISSUER, { outcome: 'error', error: 'invalid_grant', clientId: 'mobile', refreshTokenReused: true });
    clock.run(1);
    expect([...clock.firing.values()].map((a) => a.labels.client_id).sort()).toEqual(['mobile', 'web']);
  });
});
