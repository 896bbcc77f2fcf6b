import { ERROR_LABELS } from '../../src/idp-events/error-codes.js';
import { METRICS, UNKNOWN_ISSUER } from '../../src/observability/catalog/metrics.js';
import { CONFIG } from '../config.js';
import { fleetSum, is, isOneOf, num, select } from '../promql.js';
import { RECORDED, durationSeconds } from './recording.js';
import type { AlertingRule, RuleGroup } from './types.js';

export type Severity = 'critical' | 'warning';

/** The anchor of an alert's section in docs/runbook.md: its name, lower-cased (as GitHub renders the heading). */
export function runbookUrl(alert: string): string {
  return `${CONFIG.runbookUrl}#${alert.toLowerCase()}`;
}

function alert(
  name: string,
  severity: Severity,
  rule: { expr: string; for?: string; labels?: Record<string, string>; summary: string; description: string },
): AlertingRule {
  return {
    alert: name,
    expr: rule.expr,
    ...(rule.for === undefined ? {} : { for: rule.for }),
    labels: { severity, ...rule.labels },
    annotations: { summary: rule.summary, description: rule.description, runbook_url: runbookUrl(name) },
  };
}

/** `in namespace X` and `(pod Y)` read from the alert's labels when the scrape set them. */
const where = '{{ with $labels.namespace }} in namespace {{ . }}{{ end }}';
const onPod = '{{ with $labels.pod }} on pod {{ . }}{{ end }}';

function validationAlerts(): AlertingRule[] {
  const { failureRatioWarning, failureRatioCritical, minRate, latencyP99Seconds } = CONFIG.validation;
  const known = `issuer!="${UNKNOWN_ISSUER}"`;
  const enoughValidations = `${RECORDED.validationVolume}{${known}} > ${num(minRate)}`;
  const failures = (severity: Severity, ratio: number) =>
    alert('TokenValidationFailures', severity, {
      expr: `${RECORDED.validationFailureRatio}{${known}} > ${num(ratio)}\nand\n${enoughValidations}`,
      for: '5m',
      summary: `More than ${num(ratio * 100)}% of token validations fail.`,
      description: `{{ $value | humanizePercentage }} of token validations for issuer {{ $labels.issuer }}${where} failed over the last 5 minutes (threshold ${num(ratio * 100)}%). token_validation_failure_total by reason tells why.`,
    });
  return [
    failures('warning', failureRatioWarning),
    failures('critical', failureRatioCritical),
    alert('TokenValidationLatencyHigh', 'warning', {
      expr: `${RECORDED.validationLatencyP99} > ${num(latencyP99Seconds)}\nand\nsum without (issuer) (${RECORDED.validationVolume}) > ${num(minRate)}`,
      for: '10m',
      summary: `p99 token validation latency is above ${num(latencyP99Seconds * 1000)} ms.`,
      description: `The 99th percentile of token validation time${where} is {{ $value | humanizeDuration }} (threshold ${num(latencyP99Seconds * 1000)} ms).`,
    }),
  ];
}

function idpAlerts(): AlertingRule[] {
  const { downFor, jwksStaleFor, maxStaleNearSeconds, jwksMissRatio, minKeyLookupRate } = CONFIG.idp;
  return [
    alert('AuthorizationServerDown', 'critical', {
      expr: `${RECORDED.idpUp} == 0`,
      for: downFor,
      summary: 'No tokenwatch replica reaches the authorization server.',
      description: `Discovery or JWKS of issuer {{ $labels.issuer }} failed for every tokenwatch replica${where} for ${downFor}. Tokens are still validated with the last good keys until jwksMaxStale runs out.`,
    }),
    alert('JWKSStale', 'warning', {
      expr: `${select(METRICS.jwksStale)} == 1`,
      for: jwksStaleFor,
      summary: 'tokenwatch serves last-good keys past their max age.',
      description: `The keys of issuer {{ $labels.issuer }}${onPod}${where} are past their max age: the IdP has not answered a refresh for ${jwksStaleFor}.`,
    }),
    alert('JWKSMaxStaleNear', 'critical', {
      expr: `${select(METRICS.jwksUsableUntil)} - time() < ${maxStaleNearSeconds}\nand\n${select(METRICS.jwksStale)} == 1`,
      summary: 'tokenwatch will soon have no usable keys.',
      description: `The last good keys of issuer {{ $labels.issuer }}${onPod}${where} stop being usable in {{ $value | humanizeDuration }}; after that every request with its tokens is refused with 503 jwks_unavailable.`,
    }),
    alert('JWKSMissRateHigh', 'warning', {
      expr: `${RECORDED.keyMissRatio} > ${num(jwksMissRatio)}\nand\n${RECORDED.keyLookupRate} > ${num(minKeyLookupRate)}`,
      for: '5m',
      summary: `More than ${num(jwksMissRatio * 100)}% of key lookups find no key.`,
      description: `{{ $value | humanizePercentage }} of key lookups for issuer {{ $labels.issuer }}${where} matched no key in the JWKS (threshold ${num(jwksMissRatio * 100)}%).`,
    }),
  ];
}

function eventAlerts(): AlertingRule[] {
  const { spikeFactor, minRate } = CONFIG.issuance;
  const invalidGrant = isOneOf(METRICS.oauthErrors, 'error', ERROR_LABELS, 'invalid_grant');
  const { invalidGrantIn10m } = CONFIG.security;
  return [
    alert('UnusualTokenIssuance', 'warning', {
      // The hour before the 15m window: a baseline that contains the spike could never be exceeded 10 times.
      expr: `${RECORDED.issuanceRate15m} > ${num(spikeFactor)} * (${RECORDED.issuanceRate1h} offset 15m)\nand\n${RECORDED.issuanceRate15m} > ${num(minRate)}`,
      summary: 'A client is minting tokens far faster than usual.',
      description: `Client {{ $labels.client_id }} gets {{ $value | humanize }} {{ $labels.grant_type }} tokens/s from issuer {{ $labels.issuer }}${where}, over ${num(spikeFactor)} times its rate in the hour before.`,
    }),
    alert('OAuthInvalidGrantSpike', 'warning', {
      expr: `${fleetSum(`increase(${select(METRICS.oauthErrors, { matchers: [invalidGrant] })}[10m])`)} > ${num(invalidGrantIn10m)}`,
      summary: 'The IdP refuses many grants as invalid_grant.',
      description: `Issuer {{ $labels.issuer }}${where} answered {{ $value | humanize }} invalid_grant errors to client {{ $labels.client_id }} in 10 minutes: refresh-token reuse or stolen authorization codes.`,
    }),
  ];
}

function securityAlerts(): AlertingRule[] {
  const { invalidSignatureIn5m, invalidSignatureShare, unknownKeyIn5m } = CONFIG.security;
  const increase5m = (selector: string, without: readonly string[] = []) => fleetSum(`increase(${selector}[5m])`, without);
  const reason = (value: 'invalid_signature' | 'unknown_key') => select(METRICS.tokenValidationFailure, { matchers: [is(METRICS.tokenValidationFailure, 'reason', value)] });
  return [
    alert('ForgedTokenBurst', 'warning', {
      expr: [
        `${increase5m(reason('invalid_signature'))} > ${num(invalidSignatureIn5m)}`,
        // The ratio loses `reason`; the alert keeps the left side's labels.
        'and ignoring (reason)',
        `${increase5m(reason('invalid_signature'))}\n  / ignoring (reason)\n${increase5m(select(METRICS.tokenValidation), ['result'])} > ${num(invalidSignatureShare)}`,
      ].join('\n'),
      summary: 'Tokens with invalid signatures are arriving.',
      description: `{{ $value | humanize }} tokens claiming issuer {{ $labels.issuer }}${where} failed signature verification in 5 minutes (reason {{ $labels.reason }}): someone is presenting forged or tampered tokens.`,
    }),
    alert('UnknownKeySpray', 'warning', {
      expr: `${increase5m(reason('unknown_key'), ['reason'])} > ${num(unknownKeyIn5m)}\nand\n${increase5m(select(METRICS.jwksRefetchThrottled))} > 0`,
      summary: 'Tokens name key ids the IdP does not publish, and refetches are throttled.',
      description: `{{ $value | humanize }} tokens for issuer {{ $labels.issuer }}${where} named unknown key ids in 5 minutes while JWKS refetches were throttled: kid probing.`,
    }),
  ];
}

function sidecarAlerts(): AlertingRule[] {
  const { downFor, eventLogStalledSeconds } = CONFIG.sidecar;
  const up = `up{${CONFIG.selector}}`;
  return [
    alert('TokenwatchDown', 'critical', {
      expr: `${up} == 0\nor\nabsent(${up} == 1)`,
      for: downFor,
      summary: 'tokenwatch cannot be scraped.',
      description: `A tokenwatch target{{ with $labels.instance }} ({{ . }}){{ end }}${onPod}${where} has been down or absent for ${downFor}; requests to the pods behind it fail.`,
    }),
    alert('IdPEventLogStalled', 'warning', {
      expr: `time() - ${select(METRICS.idpEventLastTimestamp)} > ${eventLogStalledSeconds}`,
      summary: 'No IdP events have been read for a while.',
      description: `No event of issuer {{ $labels.issuer }} has been read${onPod}${where} for {{ $value | humanizeDuration }}; the IdP stopped writing its event log or tokenwatch stopped following it.`,
    }),
  ];
}

function sloAlerts(): AlertingRule[] {
  const { objective, minRequestRate, burnRates } = CONFIG.slo;
  const budget = 1 - objective;
  return burnRates.map(({ severity, long, short, factor, for: forDuration }) => {
    const threshold = num(factor * budget);
    return alert('TokenwatchErrorBudgetBurn', severity, {
      expr: `${RECORDED.errorRatio(long)} > ${threshold}\nand\n${RECORDED.errorRatio(short)} > ${threshold}\nand\n${RECORDED.requestRate(short)} > ${num(minRequestRate)}`,
      for: forDuration,
      labels: { long_window: long, short_window: short },
      summary: `tokenwatch is burning its error budget ${num(factor)} times too fast.`,
      description: `tokenwatch (mode {{ $labels.mode }})${where} failed {{ $value | humanizePercentage }} of requests itself over ${long}, and over ${short} too. At ${num(factor)} times the sustainable rate, the 30-day error budget of the ${num(objective * 100)}% objective lasts ${budgetLasts(factor)}.`,
    });
  });
}

/** How long a 30-day error budget lasts when spent `factor` times too fast: hours under three days, else days. */
function budgetLasts(factor: number): string {
  const hours = durationSeconds('30d') / factor / 3600;
  return hours < 72 ? `${Math.round(hours)} hours` : `${Math.round(hours / 24)} days`;
}

export function alertGroups(): RuleGroup[] {
  return [
    { name: 'tokenwatch-validation', rules: validationAlerts() },
    { name: 'tokenwatch-idp', rules: idpAlerts() },
    { name: 'tokenwatch-idp-events', rules: eventAlerts() },
    { name: 'tokenwatch-security', rules: securityAlerts() },
    { name: 'tokenwatch-sidecar', rules: sidecarAlerts() },
    { name: 'tokenwatch-slo', rules: sloAlerts() },
  ];
}
