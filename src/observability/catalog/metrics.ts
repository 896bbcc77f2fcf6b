import { FAILURE_REASONS } from '../../auth/reasons.js';
import { ERROR_LABELS } from '../../idp-events/error-codes.js';
import { GRANT_TYPE_LABELS } from '../../idp-events/grant-types.js';
import { DATA_PLANE_MODES, OWN_FAILURE_CAUSES } from '../../server/http/request-observer.js';
import { DETECTORS } from '../../detection/anomaly.js';

/**
 * Every metric tokenwatch exposes, defined once (Envoy's `stats.h`): the registry is built from these entries,
 * docs/metrics.md is tested against them, and the rule and dashboard generators under monitoring/ import them, so a
 * renamed metric breaks the build rather than a dashboard.
 *
 * A label's bound is either its fixed values or a sentence saying what bounds it. No label ever holds a token, a
 * path or anything else a client controls freely.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** Fixed values, or a sentence naming what bounds the label (the configuration, a cap). */
export type LabelBound = readonly string[] | { readonly boundedBy: string };

export interface MetricDefinition {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: Readonly<Record<string, LabelBound>>;
  readonly buckets?: readonly number[];
  /** The module that emits it, relative to src/. */
  readonly emitter: string;
}

/** Label value for an issuer that is not configured (or a token with no readable `iss`). */
export const UNKNOWN_ISSUER = 'unknown';
/** Label value for what falls outside a bounded set (scopes, clients beyond the cap). */
export const OTHER = 'other';

const CONFIGURED_ISSUER: LabelBound = { boundedBy: 'the configured issuers' };
const VALIDATED_ISSUER: LabelBound = { boundedBy: 'the configured issuers, plus `unknown`' };
const EVENT_ISSUER: LabelBound = { boundedBy: 'the issuers named in idpEvents' };
const EVENT_CLIENT: LabelBound = { boundedBy: 'metrics.clientIdTopN client ids per issuer, plus `other` and `unknown`' };
const RESULT = ['success', 'failure'] as const;
const CACHE = ['hit', 'miss'] as const;
export const IDP_FETCH_RESULTS = ['success', 'error', 'timeout', 'invalid'] as const;
export const IDP_ENDPOINTS = ['discovery', 'jwks'] as const;
export const UPSTREAM_STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'error'] as const;
export const EVENT_LINE_RESULTS = ['parsed', 'ignored', 'malformed'] as const;
export const NOTIFICATION_RESULTS = ['sent', 'failed', 'dropped'] as const;
export const CONFIG_RELOAD_RESULTS = ['success', 'invalid', 'refused'] as const;

const VALIDATION = 'observability/metrics/validation-metrics.ts';
const IDP_EVENTS = 'idp-events/metrics.ts';
const ANOMALY = 'observability/metrics/anomaly-metrics.ts';
const RELOAD = 'main/reload.ts';

/** Checks an entry against the shape while keeping its literal name and label names for the metrics built from it. */
function metric<const D extends MetricDefinition>(definition: D): D {
  return definition;
}

export const METRICS = {
  tokenValidation: metric({
    name: 'token_validation_total',
    type: 'counter',
    help: 'Token validations by result and issuer.',
    labels: { result: RESULT, issuer: VALIDATED_ISSUER },
    emitter: VALIDATION,
  }),
  tokenValidationFailure: metric({
    name: 'token_validation_failure_total',
    type: 'counter',
    help: 'Failed token validations by reason and issuer.',
    labels: { reason: FAILURE_REASONS, issuer: VALIDATED_ISSUER },
    emitter: VALIDATION,
  }),
  tokenValidationDuration: metric({
    name: 'token_validation_duration_seconds',
    type: 'histogram',
    help: 'Time to validate a token (extraction, cache, signature, claims, scopes).',
    labels: { result: RESULT, cache: CACHE },
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    emitter: VALIDATION,
  }),
  tokenCacheHits: metric({ name: 'token_cache_hits_total', type: 'counter', help: 'Verified-token cache hits.', labels: {}, emitter: VALIDATION }),
  tokenCacheMisses: metric({ name: 'token_cache_misses_total', type: 'counter', help: 'Verified-token cache misses.', labels: {}, emitter: VALIDATION }),
  tokenCacheEntries: metric({ name: 'token_cache_entries', type: 'gauge', help: 'Verified tokens held in the cache.', labels: {}, emitter: VALIDATION }),
  tokenLifetime: metric({
    name: 'token_lifetime_seconds',
    type: 'histogram',
    help: 'exp - iat of validated tokens.',
    labels: { issuer: VALIDATED_ISSUER },
    buckets: [60, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400],
    emitter: VALIDATION,
  }),
  tokenAge: metric({
    name: 'token_age_seconds',
    type: 'histogram',
    help: 'now - iat at validation: clock drift and token reuse show here.',
    labels: { issuer: VALIDATED_ISSUER },
    buckets: [-60, -5, 0, 5, 30, 60, 300, 900, 1800, 3600, 14_400, 86_400],
    emitter: VALIDATION,
  }),
  tokenValidationScope: metric({
    name: 'token_validation_scope_total',
    type: 'counter',
    help: 'Scopes of validated tokens (scopes named in routes, the rest as other).',
    labels: { scope: { boundedBy: 'the scopes named in routes, plus `other`' } },
    emitter: VALIDATION,
  }),
  identityHeaderSpoof: metric({
    name: 'identity_header_spoof_total',
    type: 'counter',
    help: 'Requests carrying a client-sent alias of an identity header (X_Auth_Subject): dropped in proxy mode, refused in authz mode.',
    labels: { mode: DATA_PLANE_MODES },
    emitter: VALIDATION,
  }),
  jwksCacheRequests: metric({
    name: 'jwks_cache_request_total',
    type: 'counter',
    help: 'Key lookups in the JWKS cache.',
    labels: { issuer: CONFIGURED_ISSUER },
    emitter: VALIDATION,
  }),
  jwksCacheMisses: metric({
    name: 'jwks_cache_miss_total',
    type: 'counter',
    help: 'Key lookups whose kid and alg matched no cached key.',
    labels: { issuer: CONFIGURED_ISSUER },
    emitter: VALIDATION,
  }),
  jwksFetches: metric({
    name: 'jwks_fetch_total',
    type: 'counter',
    help: 'Fetches of discovery and JWKS documents by result.',
    labels: { issuer: CONFIGURED_ISSUER, result: IDP_FETCH_RESULTS },
    emitter: VALIDATION,
  }),
  jwksKeys: metric({ name: 'jwks_keys', type: 'gauge', help: 'Verification keys in use.', labels: { issuer: CONFIGURED_ISSUER }, emitter: VALIDATION }),
  jwksLastSuccess: metric({
    name: 'jwks_last_success_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time of the last successful JWKS fetch.',
    labels: { issuer: CONFIGURED_ISSUER },
    emitter: VALIDATION,
  }),
  jwksStale: metric({
    name: 'jwks_stale',
    type: 'gauge',
    help: '1 while the last good keys are served past their max age (IdP unreachable), else 0.',
    labels: { issuer: CONFIGURED_ISSUER },
    emitter: VALIDATION,
  }),
  jwksUsableUntil: metric({
    name: 'jwks_usable_until_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time until which the last good keys may be used (last successful fetch + max age + jwksMaxStale); absent until keys first load.',
    labels: { issuer: CONFIGURED_ISSUER },
    emitter: VALIDATION,
  }),
  jwksKeyChanges: metric({
    name: 'jwks_key_changes_total',
    type: 'counter',
    help: 'Keys added to or removed from the JWKS: rotation made visible.',
    labels: { issuer: CONFIGURED_ISSUER, change: ['added', 'removed'] },
    emitter: VALIDATION,
  }),
  jwksRefetchThrottled: metric({
    name: 'jwks_refetch_throttled_total',
    type: 'counter',
    help: 'Unknown-kid refetches refused by the cooldown.',
    labels: { issuer: CONFIGURED_ISSUER },
    emitter: VALIDATION,
  }),
  idpUp: metric({
    name: 'idp_up',
    type: 'gauge',
    help: '1 when discovery and JWKS answered the last probe, else 0.',
    labels: { issuer: CONFIGURED_ISSUER },
    emitter: VALIDATION,
  }),
  idpRequestDuration: metric({
    name: 'idp_request_duration_seconds',
    type: 'histogram',
    help: 'Time of requests to the IdP.',
    labels: { issuer: CONFIGURED_ISSUER, endpoint: IDP_ENDPOINTS },
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    emitter: VALIDATION,
  }),
  upstreamRequestDuration: metric({
    name: 'upstream_request_duration_seconds',
    type: 'histogram',
    help: 'Time for the upstream to answer a proxied request (to response headers), by status class; error when it did not answer.',
    labels: { status_class: UPSTREAM_STATUS_CLASSES },
    // An app behind a sidecar often answers within a millisecond or two: finer at the bottom than the IdP's.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    emitter: VALIDATION,
  }),
  requests: metric({
    name: 'tokenwatch_requests_total',
    type: 'counter',
    help: 'Requests that reached the data-plane listener; a connection shed at limits.connections counts as one.',
    labels: { mode: DATA_PLANE_MODES },
    emitter: VALIDATION,
  }),
  requestErrors: metric({
    name: 'tokenwatch_request_errors_total',
    type: 'counter',
    help: 'Requests tokenwatch failed itself (its own 5xx, or a shed connection), by cause: the errors of its availability SLI.',
    labels: { mode: DATA_PLANE_MODES, cause: OWN_FAILURE_CAUSES },
    emitter: VALIDATION,
  }),
  listenerConnections: metric({
    name: 'listener_connections',
    type: 'gauge',
    help: 'Open connections to the data-plane listener (bounded by limits.connections).',
    labels: {},
    emitter: VALIDATION,
  }),
  listenerConnectionsDropped: metric({
    name: 'listener_connections_dropped_total',
    type: 'counter',
    help: 'Connections to the data-plane listener closed on arrival because limits.connections were open.',
    labels: {},
    emitter: VALIDATION,
  }),
  logLinesDropped: metric({
    name: 'log_lines_dropped_total',
    type: 'counter',
    help: 'Log lines (audit and operational) dropped because more than 16 MiB waited for stdout.',
    labels: {},
    emitter: VALIDATION,
  }),
  logWriteErrors: metric({
    name: 'log_write_errors_total',
    type: 'counter',
    help: 'Failed writes of log batches to stdout (a closed pipe); retried with the next batch.',
    labels: {},
    emitter: VALIDATION,
  }),
  tracingSpansDropped: metric({
    name: 'tracing_spans_dropped_total',
    type: 'counter',
    help: 'Sampled spans dropped before export: more than 4,096 waited for the export worker, or it had stopped.',
    labels: {},
    emitter: VALIDATION,
  }),
  buildInfo: metric({
    name: 'tokenwatch_build_info',
    type: 'gauge',
    help: 'Always 1; the version label says which tokenwatch runs.',
    labels: { version: { boundedBy: 'one value per process' } },
    emitter: VALIDATION,
  }),
  configReloads: metric({
    name: 'config_reload_total',
    type: 'counter',
    help: 'Configuration reloads (file change or SIGHUP) by result: success, invalid (refused by validation), refused (needs a restart).',
    labels: { result: CONFIG_RELOAD_RESULTS },
    emitter: RELOAD,
  }),
  configLastReloadSuccess: metric({
    name: 'config_last_reload_success_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time the configuration in force was loaded (start-up or the last successful reload).',
    labels: {},
    emitter: RELOAD,
  }),
  tokenIssuance: metric({
    name: 'token_issuance_total',
    type: 'counter',
    help: 'Tokens minted by the IdP (one per grant), by grant type and client, from its event log.',
    labels: { issuer: EVENT_ISSUER, grant_type: GRANT_TYPE_LABELS, client_id: EVENT_CLIENT },
    emitter: IDP_EVENTS,
  }),
  oauthErrors: metric({
    name: 'oauth_error_total',
    type: 'counter',
    help: 'OAuth/OIDC errors in the IdP event log, by error code and client.',
    labels: { issuer: EVENT_ISSUER, error: ERROR_LABELS, client_id: EVENT_CLIENT },
    emitter: IDP_EVENTS,
  }),
  oauthLogouts: metric({
    name: 'oauth_logout_total',
    type: 'counter',
    help: 'User logouts at the IdP (RP-initiated, front- or back-channel), by the client that asked, from its event log.',
    labels: { issuer: EVENT_ISSUER, client_id: EVENT_CLIENT },
    emitter: IDP_EVENTS,
  }),
  oauthTokenRevocations: metric({
    name: 'oauth_token_revocation_total',
    type: 'counter',
    help: 'Tokens and grants the IdP revoked before they expired (RFC 7009 revocation, a user revoking a client), by client, from its event log.',
    labels: { issuer: EVENT_ISSUER, client_id: EVENT_CLIENT },
    emitter: IDP_EVENTS,
  }),
  activeSessions: metric({
    name: 'active_sessions',
    type: 'gauge',
    help: 'Estimated active sessions: distinct sessions with activity within the idle timeout, minus logouts.',
    labels: { issuer: EVENT_ISSUER },
    emitter: IDP_EVENTS,
  }),
  idpEventLines: metric({
    name: 'idp_event_lines_total',
    type: 'counter',
    help: 'Lines read from IdP event log files, by result (parsed, ignored, malformed).',
    labels: { file: { boundedBy: 'the files named in idpEvents' }, result: EVENT_LINE_RESULTS },
    emitter: IDP_EVENTS,
  }),
  idpEventLastTimestamp: metric({
    name: 'idp_event_last_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time of the newest IdP event read (its own time when the line has one, else when it was read).',
    labels: { issuer: EVENT_ISSUER },
    emitter: IDP_EVENTS,
  }),
  anomalyActive: metric({
    name: 'anomaly_active',
    type: 'gauge',
    help: 'Anomalies a detector of this sidecar finds now (each one an alert sent to Alertmanager).',
    labels: { detector: DETECTORS },
    emitter: ANOMALY,
  }),
  anomalyScore: metric({
    name: 'anomaly_score',
    type: 'gauge',
    help: 'Highest score of a detector at its last step: observed over baseline for rates (alerts at the factor), time failing over grace, reuses.',
    labels: { detector: DETECTORS },
    emitter: ANOMALY,
  }),
  alertmanagerNotifications: metric({
    name: 'alertmanager_notifications_total',
    type: 'counter',
    help: 'Alerts posted to Alertmanager peers, summed over peers: sent (accepted), failed (an attempt failed), dropped (queue full or retries spent).',
    labels: { result: NOTIFICATION_RESULTS },
    emitter: ANOMALY,
  }),
  alertmanagerQueueLength: metric({
    name: 'alertmanager_queue_length',
    type: 'gauge',
    help: 'Alerts waiting for an Alertmanager peer or being sent, summed over peers.',
    labels: {},
    emitter: ANOMALY,
  }),
} as const;

export type MetricId = keyof typeof METRICS;

/** prom-client's own Node.js process and runtime metrics (`process_*`, `nodejs_*`) are registered besides these. */
export const RUNTIME_METRIC_PREFIXES = ['process_', 'nodejs_'] as const;

type LabelName<D extends MetricDefinition> = Extract<keyof D['labels'], string>;
type MetricOptions<D extends MetricDefinition> = { name: D['name']; help: string; labelNames: Array<LabelName<D>> } & (D extends {
  buckets: readonly number[];
}
  ? { buckets: number[] }
  : unknown);

/** The options prom-client's metric constructors take, from a catalogue entry. */
export function metricOptions<const D extends MetricDefinition>(definition: D): MetricOptions<D> {
  const options = { name: definition.name, help: definition.help, labelNames: Object.keys(definition.labels) as Array<LabelName<D>> };
  return (definition.buckets ? { ...options, buckets: [...definition.buckets] } : options) as MetricOptions<D>;
}

/** Fixed values of a label, or undefined when the label is bounded by configuration. */
export function labelValues(bound: LabelBound): readonly string[] | undefined {
  return Array.isArray(bound) ? bound : undefined;
}
