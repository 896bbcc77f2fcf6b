import { METRICS } from '../../src/observability/catalog/metrics.js';
import { CONFIG } from '../config.js';
import { fleetSum, is, select } from '../promql.js';
import type { RecordingRule, RuleGroup } from './types.js';

/** The windows of the availability SLI: every short and long window of the burn-rate pairs. */
export const SLI_WINDOWS: readonly string[] = [...new Set(CONFIG.slo.burnRates.flatMap((pair) => [pair.short, pair.long]))].sort(byDuration);

/**
 * Names of the recorded series (Prometheus's `level:metric:operations`), read by the alerts and the dashboards.
 * Every one is a fleet view: `sum without (instance, pod)` (or max), so one series stands for every replica.
 */
export const RECORDED = {
  validationRate: 'issuer_result:token_validation:rate5m',
  validationVolume: 'issuer:token_validation:rate5m',
  validationFailureRatio: 'issuer:token_validation_failures_per_validations:ratio_rate5m',
  validationLatencyBuckets: 'le:token_validation_duration_seconds_bucket:rate5m',
  validationLatencyP99: 'job:token_validation_duration_seconds:p99_rate5m',
  keyLookupRate: 'issuer:jwks_cache_request:rate5m',
  keyMissRatio: 'issuer:jwks_cache_misses_per_requests:ratio_rate5m',
  idpUp: 'issuer:idp_up:max',
  issuanceRate15m: 'issuer_grant_type_client_id:token_issuance:rate15m',
  issuanceRate1h: 'issuer_grant_type_client_id:token_issuance:rate1h',
  /** `mode:tokenwatch_requests:rate<window>` for each SLI window. */
  requestRate: (window: string) => `mode:tokenwatch_requests:rate${window}`,
  /** `mode:tokenwatch_request_errors_per_requests:ratio_rate<window>`: the SLI's error ratio. */
  errorRatio: (window: string) => `mode:tokenwatch_request_errors_per_requests:ratio_rate${window}`,
} as const;

const rate = (selector: string, window: string) => `rate(${selector}[${window}])`;

function validationRules(): RecordingRule[] {
  const failures = is(METRICS.tokenValidation, 'result', 'failure');
  return [
    { record: RECORDED.validationRate, expr: fleetSum(rate(select(METRICS.tokenValidation), '5m')) },
    { record: RECORDED.validationVolume, expr: `sum without (result) (${RECORDED.validationRate})` },
    {
      record: RECORDED.validationFailureRatio,
      expr: `sum without (result) (${RECORDED.validationRate}{${failures}}) / ${RECORDED.validationVolume}`,
    },
    { record: RECORDED.validationLatencyBuckets, expr: fleetSum(rate(select(METRICS.tokenValidationDuration, { part: 'bucket' }), '5m')) },
    {
      record: RECORDED.validationLatencyP99,
      expr: `histogram_quantile(0.99, sum without (result, cache) (${RECORDED.validationLatencyBuckets}))`,
    },
  ];
}

function keyRules(): RecordingRule[] {
  return [
    { record: RECORDED.keyLookupRate, expr: fleetSum(rate(select(METRICS.jwksCacheRequests), '5m')) },
    { record: RECORDED.keyMissRatio, expr: `${fleetSum(rate(select(METRICS.jwksCacheMisses), '5m'))} / ${RECORDED.keyLookupRate}` },
    { record: RECORDED.idpUp, expr: `max without (${CONFIG.replicaLabels.join(', ')}) (${select(METRICS.idpUp)})` },
  ];
}

function eventRules(): RecordingRule[] {
  return [
    { record: RECORDED.issuanceRate15m, expr: fleetSum(rate(select(METRICS.tokenIssuance), '15m')) },
    { record: RECORDED.issuanceRate1h, expr: fleetSum(rate(select(METRICS.tokenIssuance), '1h')) },
  ];
}

function sliRules(): RecordingRule[] {
  const rules: RecordingRule[] = [];
  for (const window of SLI_WINDOWS) {
    rules.push({ record: RECORDED.requestRate(window), expr: fleetSum(rate(select(METRICS.requests), window)) });
    rules.push({
      record: RECORDED.errorRatio(window),
      expr: `${fleetSum(rate(select(METRICS.requestErrors), window), ['cause'])} / ${RECORDED.requestRate(window)}`,
    });
  }
  return rules;
}

export function recordingGroups(): RuleGroup[] {
  return [
    { name: 'tokenwatch-validation.rules', rules: validationRules() },
    { name: 'tokenwatch-idp.rules', rules: keyRules() },
    { name: 'tokenwatch-idp-events.rules', rules: eventRules() },
    { name: 'tokenwatch-slo.rules', rules: sliRules() },
  ];
}

/** Seconds in a Prometheus duration of one unit (5m, 1h, 3d). */
export function durationSeconds(duration: string): number {
  const match = /^(\d+)([smhd])$/.exec(duration);
  if (!match) throw new Error(`unsupported duration ${duration}`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

function byDuration(a: string, b: string): number {
  return durationSeconds(a) - durationSeconds(b);
}
