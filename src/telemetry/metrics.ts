import type { Server } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HotCounter, type CounterSlot } from './hot-counter.js';
import { HotHistogram, type HistogramSlot } from './hot-histogram.js';
import { logWriterStats } from './logger.js';
import { spanShippingStats } from './span-shipper.js';
import { FAILURE_REASONS, type FailureReason } from '../auth/reasons.js';
import type { IdpEndpoint, IssuerKeyStore, KeyStoreObserver } from '../auth/keys.js';
import type { IdpFetchResult } from '../auth/idp-fetch.js';
import type { GateObserver, ValidationReport } from '../server/access-gate.js';
import { SPOOF_MODES, type IdentitySpoof, type IdentitySpoofObserver } from '../server/identity-aliases.js';
import type { UpstreamObserver, UpstreamStatusClass } from '../server/proxy-exchange.js';

/** Label value for an issuer that is not configured (or a token with no readable `iss`). */
export const UNKNOWN_ISSUER = 'unknown';
export const OTHER = 'other';

const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const IDP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** An app behind a sidecar often answers within a millisecond or two: finer at the bottom than the IdP's. */
const UPSTREAM_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LIFETIME_BUCKETS = [60, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400];
const AGE_BUCKETS = [-60, -5, 0, 5, 30, 60, 300, 900, 1800, 3600, 14_400, 86_400];

const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

interface IssuerSlots {
  readonly success: CounterSlot;
  readonly failure: CounterSlot;
  readonly reasons: Readonly<Record<FailureReason, CounterSlot>>;
  readonly lifetime: HistogramSlot;
  readonly age: HistogramSlot;
}

/** Key lookups of one configured issuer's JWKS cache. */
interface KeyLookupSlots {
  readonly requests: CounterSlot;
  readonly misses: CounterSlot;
}

export interface MetricsOptions {
  version: string;
  issuers: readonly string[];
  /** Scopes named in routes: the only values of the `scope` label besides `other`. */
  routeScopes: readonly string[];
  tokenCacheEntries: () => number;
}

/**
 * Every metric of the validation path, defined once, on a registry of tokenwatch's own. Labels are bounded:
 * `reason`, `result` and `endpoint` are fixed sets, `issuer` the configured set plus `unknown`, `scope` the
 * route scopes plus `other`.
 */
export class ValidationMetrics implements KeyStoreObserver, GateObserver, UpstreamObserver, IdentitySpoofObserver {
  readonly registry = new Registry();

  private readonly validationTotal = new HotCounter({
    name: 'token_validation_total',
    help: 'Token validations by result and issuer.',
    labelNames: ['result', 'issuer'] as const,
    registers: [this.registry],
  });
  private readonly validationFailureTotal = new HotCounter({
    name: 'token_validation_failure_total',
    help: 'Failed token validations by reason and issuer.',
    labelNames: ['reason', 'issuer'] as const,
    registers: [this.registry],
  });
  readonly validationDuration = new HotHistogram({
    name: 'token_validation_duration_seconds',
    help: 'Time to validate a token (extraction, cache, signature, claims, scopes).',
    labelNames: ['result', 'cache'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly cacheHits = new HotCounter({ name: 'token_cache_hits_total', help: 'Verified-token cache hits.', registers: [this.registry] }).slot({});
  private readonly cacheMisses = new HotCounter({ name: 'token_cache_misses_total', help: 'Verified-token cache misses.', registers: [this.registry] }).slot({});
  private readonly jwksRequests = new HotCounter({
    name: 'jwks_cache_request_total',
    help: 'Key lookups in the JWKS cache.',
    labelNames: ['issuer'] as const,
    registers: [this.registry],
  });
  private readonly jwksMisses = new HotCounter({
    name: 'jwks_cache_miss_total',
    help: 'Key lookups whose kid and alg matched no cached key.',
    labelNames: ['issuer'] as const,
    registers: [this.registry],
  });
  readonly jwksFetches = new Counter({
    name: 'jwks_fetch_total',
    help: 'Fetches of discovery and JWKS documents by result.',
    labelNames: ['issuer', 'result'] as const,
    registers: [this.registry],
  });
  readonly jwksKeys = new Gauge({ name: 'jwks_keys', help: 'Verification keys in use.', labelNames: ['issuer'] as const, registers: [this.registry] });
  readonly jwksLastSuccess = new Gauge({
    name: 'jwks_last_success_timestamp_seconds',
    help: 'Unix time of the last successful JWKS fetch.',
    labelNames: ['issuer'] as const,
    registers: [this.registry],
  });
  private keyStores: readonly IssuerKeyStore[] = [];
  readonly jwksStale = new Gauge({
    name: 'jwks_stale',
    help: '1 while the last good keys are served past their max age (IdP unreachable), else 0.',
    labelNames: ['issuer'] as const,
    registers: [this.registry],
    collect: () => {
      for (const store of this.keyStores) this.jwksStale.labels(store.issuer).set(store.status().state === 'fresh' ? 0 : 1);
    },
  });
  readonly jwksKeyChanges = new Counter({
    name: 'jwks_key_changes_total',
    help: 'Keys added to or removed from the JWKS: rotation made visible.',
    labelNames: ['issuer', 'change'] as const,
    registers: [this.registry],
  });
  readonly jwksRefetchThrottled = new Counter({
    name: 'jwks_refetch_throttled_total',
    help: 'Unknown-kid refetches refused by the cooldown.',
    labelNames: ['issuer'] as const,
    registers: [this.registry],
  });
  readonly idpUp = new Gauge({
    name: 'idp_up',
    help: '1 when discovery and JWKS answered the last probe, else 0.',
    labelNames: ['issuer'] as const,
    registers: [this.registry],
  });
  readonly idpRequestDuration = new Histogram({
    name: 'idp_request_duration_seconds',
    help: 'Time of requests to the IdP.',
    labelNames: ['issuer', 'endpoint'] as const,
    buckets: IDP_BUCKETS,
    registers: [this.registry],
  });
  private readonly tokenLifetime = new HotHistogram({
    name: 'token_lifetime_seconds',
    help: 'exp - iat of validated tokens.',
    labelNames: ['issuer'] as const,
    buckets: LIFETIME_BUCKETS,
    registers: [this.registry],
  });
  private readonly tokenAge = new HotHistogram({
    name: 'token_age_seconds',
    help: 'now - iat at validation: clock drift and token reuse show here.',
    labelNames: ['issuer'] as const,
    buckets: AGE_BUCKETS,
    registers: [this.registry],
  });
  readonly upstreamDuration = new HotHistogram({
    name: 'upstream_request_duration_seconds',
    help: 'Time for the upstream to answer a proxied request (to response headers), by status class; error when it did not answer.',
    labelNames: ['status_class'] as const,
    buckets: UPSTREAM_BUCKETS,
    registers: [this.registry],
  });
  private readonly scopeTotal = new HotCounter({
    name: 'token_validation_scope_total',
    help: 'Scopes of validated tokens (scopes named in routes, the rest as other).',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  /** Rare by nature (a client forging identity), so a plain prom-client counter; both modes exist from the start. */
  private readonly identityHeaderSpoofs = new Counter({
    name: 'identity_header_spoof_total',
    help: 'Requests carrying a client-sent alias of an identity header (X_Auth_Subject): dropped in proxy mode, refused in authz mode.',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  /** Counter slots per configured issuer (and `unknown`), made once: the request path only adds to them. */
  private readonly issuerSlots = new Map<string, IssuerSlots>();
  private readonly keyLookupSlots = new Map<string, KeyLookupSlots>();
  private readonly scopeSlots = new Map<string, CounterSlot>();
  private readonly otherScopeSlot: CounterSlot;
  private readonly durationChildren: Record<'success' | 'failure', Record<'hit' | 'miss', HistogramSlot>>;
  /** Made at a status class's first answer: forward-auth mode never shows upstream series. */
  private readonly upstreamSlots: Partial<Record<UpstreamStatusClass, HistogramSlot>> = {};

  constructor(options: MetricsOptions) {
    new Gauge({
      name: 'token_cache_entries',
      help: 'Verified tokens held in the cache.',
      registers: [this.registry],
      collect() {
        this.set(options.tokenCacheEntries());
      },
    });
    new Gauge({
      name: 'tokenwatch_build_info',
      help: 'Always 1; the version label says which tokenwatch runs.',
      labelNames: ['version'] as const,
      registers: [this.registry],
    }).set({ version: options.version }, 1);
    collectDefaultMetrics({ register: this.registry });
    countedFrom(this.registry, 'log_lines_dropped_total', 'Log lines (audit and operational) dropped because more than 16 MiB waited for stdout.', () => logWriterStats.droppedLines);
    countedFrom(
      this.registry,
      'tracing_spans_dropped_total',
      'Sampled spans dropped before export: more than 4,096 waited for the export worker, or it had stopped.',
      () => spanShippingStats.dropped,
    );
    countedFrom(this.registry, 'log_write_errors_total', 'Failed writes of log batches to stdout (a closed pipe); retried with the next batch.', () => logWriterStats.writeErrors);
    // prom-client names these gauges with a counter's `_total` suffix, which promtool (rightly) flags; the per-type
    // series (nodejs_active_handles{type}, ...) carry the same information under valid names.
    for (const name of MISNAMED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    // Every series exists from the start so rate() and absent() work before the first event.
    for (const issuer of [...options.issuers, UNKNOWN_ISSUER]) {
      const reasons = {} as Record<FailureReason, CounterSlot>;
      for (const reason of FAILURE_REASONS) reasons[reason] = this.validationFailureTotal.slot({ reason, issuer });
      this.issuerSlots.set(issuer, {
        success: this.validationTotal.slot({ result: 'success', issuer }),
        failure: this.validationTotal.slot({ result: 'failure', issuer }),
        reasons,
        lifetime: this.tokenLifetime.slot({ issuer }),
        age: this.tokenAge.slot({ issuer }),
      });
    }
    for (const mode of SPOOF_MODES) this.identityHeaderSpoofs.labels(mode);
    for (const scope of options.routeScopes) this.scopeSlots.set(scope, this.scopeTotal.slot({ scope }));
    this.otherScopeSlot = this.scopeTotal.slot({ scope: OTHER });
    const duration = (result: string, cache: string) => this.validationDuration.slot({ result, cache });
    this.durationChildren = {
      success: { hit: duration('success', 'hit'), miss: duration('success', 'miss') },
      failure: { hit: duration('failure', 'hit'), miss: duration('failure', 'miss') },
    };
    for (const issuer of options.issuers) {
      this.keyLookupSlots.set(issuer, { requests: this.jwksRequests.slot({ issuer }), misses: this.jwksMisses.slot({ issuer }) });
      this.jwksRefetchThrottled.labels(issuer);
      this.idpUp.labels(issuer).set(0);
      this.jwksStale.labels(issuer).set(0);
      this.jwksKeys.labels(issuer).set(0);
    }
  }

  validated(report: ValidationReport): void {
    const { validation, failure } = report;
    const issuerName = validation?.token.issuer ?? failure?.context?.issuer;
    const issuer = this.issuerSlots.get(issuerName ?? UNKNOWN_ISSUER) ?? this.issuerSlots.get(UNKNOWN_ISSUER)!;
    const cache = validation?.cache ?? failure?.context?.cache;
    if (cache === 'hit') this.cacheHits.pending += 1;
    else if (cache === 'miss') this.cacheMisses.pending += 1;
    if (failure) {
      issuer.failure.pending += 1;
      issuer.reasons[failure.reason].pending += 1;
      this.durationChildren.failure[cache ?? 'miss'].observe(report.seconds);
      return;
    }
    const token = validation!.token;
    issuer.success.pending += 1;
    this.durationChildren.success[validation!.cache].observe(report.seconds);
    if (validation!.cache === 'miss' && token.iat !== undefined) {
      issuer.lifetime.observe(token.exp - token.iat);
      issuer.age.observe(Date.now() / 1000 - token.iat);
    }
    let other = false;
    for (const scope of token.scopes) {
      const slot = this.scopeSlots.get(scope);
      if (slot) slot.pending += 1;
      else other = true;
    }
    if (other) this.otherScopeSlot.pending += 1;
  }

  fetched(issuer: string, endpoint: IdpEndpoint, result: IdpFetchResult, seconds: number): void {
    this.idpRequestDuration.labels(issuer, endpoint).observe(seconds);
    if (endpoint === 'jwks' || result !== 'success') this.jwksFetches.labels(issuer, result).inc();
    this.idpUp.labels(issuer).set(result === 'success' ? 1 : 0);
    if (endpoint === 'jwks' && result === 'success') this.jwksLastSuccess.labels(issuer).set(Date.now() / 1000);
  }

  keysChanged(issuer: string, added: number, removed: number, total: number): void {
    if (added > 0) this.jwksKeyChanges.labels(issuer, 'added').inc(added);
    if (removed > 0) this.jwksKeyChanges.labels(issuer, 'removed').inc(removed);
    this.jwksKeys.labels(issuer).set(total);
  }

  refetchThrottled(issuer: string): void {
    this.jwksRefetchThrottled.labels(issuer).inc();
  }

  keyLookup(issuer: string, found: boolean): void {
    const slots = this.keyLookupSlots.get(issuer);
    if (!slots) return;
    slots.requests.pending += 1;
    if (!found) slots.misses.pending += 1;
  }

  upstreamAnswered(statusClass: UpstreamStatusClass, seconds: number): void {
    (this.upstreamSlots[statusClass] ??= this.upstreamDuration.slot({ status_class: statusClass })).observe(seconds);
  }

  identityHeaderSpoofed(spoof: IdentitySpoof): void {
    this.identityHeaderSpoofs.labels(spoof.mode).inc();
  }

  /** The stores whose state `jwks_stale` reports at each scrape. */
  watchKeyStores(stores: readonly IssuerKeyStore[]): void {
    this.keyStores = stores;
  }

  /**
   * The data-plane listener's open connections, and those it refused at `limits.connections` (Node closes them at
   * once and emits `drop`). Per connection, never per request.
   */
  watchListener(server: Server): void {
    const dropped = new Counter({
      name: 'listener_connections_dropped_total',
      help: 'Connections to the data-plane listener closed on arrival because limits.connections were open.',
      registers: [this.registry],
    });
    server.on('drop', () => dropped.inc());
    new Gauge({
      name: 'listener_connections',
      help: 'Open connections to the data-plane listener (bounded by limits.connections).',
      registers: [this.registry],
      collect() {
        return new Promise<void>((resolve) => {
          server.getConnections((error, count) => {
            if (!error) this.set(count);
            resolve();
          });
        });
      },
    });
  }
}

export type { FailureReason };

/** A counter that follows a running total kept elsewhere, read at scrape time. */
function countedFrom(registry: Registry, name: string, help: string, total: () => number): void {
  let counted = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = total();
      if (now > counted) this.inc(now - counted);
      counted = now;
    },
  });
}
