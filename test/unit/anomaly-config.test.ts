import { describe, expect, test } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/load.js';

const EVENTS_ONLY = { mode: 'events', idpEvents: [{ path: '/var/log/idp/events.jsonl', format: 'jsonl', issuer: 'https://idp.example.com' }] };

function problems(anomaly: unknown): string[] {
  try {
    validateConfig({ ...EVENTS_ONLY, anomaly }, 'test');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((problem) => `${problem.path}: ${problem.message}`);
    throw error;
  }
  return [];
}

describe('the anomaly section', () => {
  test('is off by default, since without Alertmanager URLs there is nowhere to send an alert', () => {
    const config = validateConfig(EVENTS_ONLY, 'test');
    expect(config.anomaly.enabled).toBe(false);
    expect(config.anomaly.warmup).toBe(300_000);
    expect(config.anomaly.issuanceSpike).toMatchObject({ factor: 10, minRate: 1, window: 10_000, baseline: 1_800_000 });
    expect(config.anomaly.failureBurst.reasons).toEqual(['invalid_signature', 'unknown_key', 'expired', 'invalid_audience']);
    expect(config.anomaly.idpUnreachable.grace).toBe(30_000);
    expect(config.anomaly.trackedClients).toBe(200);
    expect(config.anomaly.labels).toEqual({ namespace: '${POD_NAMESPACE}', pod: '${POD_NAME}' });
    expect(config.anomaly.alertmanager).toEqual({ urls: [], resendInterval: 60_000, timeout: 5000, queue: 1000 });
  });

  test('turns on by itself once an Alertmanager URL is given', () => {
    const config = validateConfig({ ...EVENTS_ONLY, anomaly: { alertmanager: { urls: ['http://alertmanager-0:9093'] } } }, 'test');
    expect(config.anomaly.enabled).toBe(true);
  });

  test('reads rates per second, minute or hour', () => {
    const config = validateConfig({ ...EVENTS_ONLY, anomaly: { issuanceSpike: { minRate: '30/m' }, failureBurst: { minRate: '360/h' } } }, 'test');
    expect(config.anomaly.issuanceSpike.minRate).toBe(0.5);
    expect(config.anomaly.failureBurst.minRate).toBe(0.1);
  });

  test('reports every bad key with its path', () => {
    expect(problems({ enabled: true, issuanceSpike: { minRate: 'fast' }, failureBurst: { reasons: ['nope'] }, alertmanager: { urls: ['ftp://x'] } })).toEqual([
      'anomaly.issuanceSpike.minRate: expected a rate such as 1/s, 30/m or 100/h, got "fast"',
      'anomaly.failureBurst.reasons[0]: expected one of missing_token, malformed, disallowed_algorithm, unknown_key, invalid_signature, expired, not_yet_valid, invalid_issuer, invalid_audience, invalid_claims, insufficient_scope, jwks_unavailable',
      'anomaly.alertmanager.urls[0]: expected an absolute http(s) URL of one Alertmanager peer',
    ]);
  });

  test('refuses anomaly.enabled true with no Alertmanager to send to', () => {
    expect(problems({ enabled: true })).toEqual(['anomaly.alertmanager.urls: at least one Alertmanager URL is required when anomaly.enabled is true']);
  });
});
