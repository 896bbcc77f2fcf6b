import type { Server } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HotCounter, type CounterSlot } from './hot-counter.js';
import { HotHistogram, type HistogramSlot } from './hot-histogram.js';
import { logWriterStats } from '../../logging/logger.js';
import { spanShippingStats } from '../tracing/span-shipper.js';
import { FAILURE_REASONS, type FailureReason } from '../../auth/reasons.js';
import type { IdpEndpoint, IssuerKeyStore, KeyStoreObserver } from '../../auth/keys.js';
import type { IdpFetchResult } from '../../auth/idp-fetch.js';
import type { GateObserver, ValidationRecord } from '../../server/gate/ports.js';
import type { UpstreamObserver, UpstreamStatusClass } from '../../server/proxy/exchange.js';
import type { IdentitySpoof, IdentitySpoofObserver } from '../../server/gate/identity-aliases.js';
import { DATA_PLANE_MODES, OWN_FAILURE_CAUSES, type DataPlaneMode, type OwnFailureCause, type RequestObserver } from '../../server/http/request-observer.js';
import { METRICS, OTHER, UNKNOWN_ISSUER, labelValues, metricOptions, type MetricDefinition } from '../catalog/metrics.js';
import { registerAnomalyMetrics, type AnomalySources } from './anomaly-metrics.js';


const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

interface IssuerSlots {
  readonly success: CounterSlot;
  readonly failure: CounterSlot;
  readonly reasons: Readonly<Record<FailureReason, CounterSlot>>;
  readonly lifetime: HistogramSlot;
  readonly age: HistogramSlot;
}

/** Requests of the data plane and those tokenwatch failed itself: its availability SLI. */
interface RequestSlots {
  readonly received: CounterSlot;
  readonly failed: Readonly<Record<OwnFailureCause, CounterSlot>>;
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
  /** The mode serving requests; undefined in `mode: events`, which serves none and so counts none. */
  dataPlaneMode: DataPlaneMode | undefined;
}

/**
 * Every metric of the validation path, defined once, on a registry of tokenwatch's own. Labels are bounded:
 * `reason`, `result` and `endpoint` are fixed sets, `issuer` the configured set plus `unknown`, `scope` the
 * route scopes plus `other`.
 */
export class ValidationMetrics implements KeyStoreObserver, GateObserver, UpstreamObserver, IdentitySpoofObserver, RequestObserver {
  readonly registry = new Registry();

  private readonly validationTotal = new HotCounter({
    ...metricOptions(METRICS.tokenValidation),
    registers: [this.registry],
  });
  private readonly validationFailureTotal = new HotCounter({
    ...metricOptions(METRICS.tokenValidationFailure),
    registers: [this.registry],
  });
  readonly validationDuration = new HotHistogram({
    ...metricOptions(METRICS.tokenValidationDuration),
    registers: [this.registry],
  });
  private readonly cacheHits = new HotCounter({ ...metricOptions(METRICS.tokenCacheHits), registers: [this.registry] }).slot({});
  private readonly cacheMisses = new HotCounter({ ...metricOptions(METRICS.tokenCacheMisses), registers: [this.registry] }).slot({});
  private readonly jwksRequests = new HotCounter({ ...metricOptions(METRICS.jwksCacheRequests), registers: [this.registry] });
  private readonly jwksMisses = new HotCounter({ ...metricOptions(METRICS.jwksCacheMisses), registers: [this.registry] });
  readonly jwksFetches = new Counter({ ...metricOptions(METRICS.jwksFetches), registers: [this.registry] });
  readonly jwksKeys = new Gauge({ ...metricOptions(METRICS.jwksKeys), registers: [this.registry] });
  readonly jwksLastSuccess = new Gauge({ ...metricOptions(METRICS.jwksLastSuccess), registers: [this.registry] });
  private keyStores: readonly IssuerKeyStore[] = [];
  readonly jwksStale = new Gauge({
    ...metricOptions(METRICS.jwksStale),
    registers: [this.registry],
    collect: () => {
      for (const store of this.keyStores) this.jwksStale.labels(store.issuer).set(store.status().state === 'fresh' ? 0 : 1);
    },
  });
  readonly jwksUsableUntil = new Gauge({
    ...metricOptions(METRICS.jwksUsableUntil),
    registers: [this.registry],
    collect: () => {
      for (const store of this.keyStores) {
        const { usableUntil } = store.status();
        if (usableUntil !== undefined) this.jwksUsableUntil.labels(store.issuer).set(usableUntil / 1000);
      }
    },
  });
  readonly jwksKeyChanges = new Counter({
    ...metricOptions(METRICS.jwksKeyChanges),
    registers: [this.registry],
  });
  readonly jwksRefetchThrottled = new Counter({
    ...metricOptions(METRICS.jwksRefetchThrottled),
    registers: [this.registry],
  });
  readonly idpUp = new Gauge({
    ...metricOptions(METRICS.idpUp),
    registers: [this.registry],
  });
  readonly idpRequestDuration = new Histogram({
    ...metricOptions(METRICS.idpRequestDuration),
    registers: [this.registry],
  });
  private readonly tokenLifetime = new HotHistogram({
    ...metricOptions(METRICS.tokenLifetime),
    registers: [this.registry],
  });
  private readonly tokenAge = new HotHistogram({
    ...metricOptions(METRICS.tokenAge),
    registers: [this.registry],
  });
  readonly upstreamDuration = new HotHistogram({
    ...metricOptions(METRICS.upstreamRequestDuration),
    registers: [this.registry],
  });
  private readonly scopeTotal = new HotCounter({
    ...metricOptions(METRICS.tokenValidationScope),
    registers: [this.registry],
  });
  /** Rare by nature (a client forging identity), so a plain prom-client counter; both modes exist from the start. */
  private readonly identityHeaderSpoofs = new Counter({ ...metricOptions(METRICS.identityHeaderSpoof), registers: [this.registry] });
  /** Counter slots per configured issuer (and `unknown`), made once: the request path only adds to them. */
  private readonly issuerSlots = new Map<string, IssuerSlots>();
  private readonly keyLookupSlots = new Map<string, KeyLookupSlots>();
  private readonly scopeSlots = new Map<string, CounterSlot>();
  private readonly otherScopeSlot: CounterSlot;
  private readonly durationChildren: Record<'success' | 'failure', Record<'hit' | 'miss', HistogramSlot>>;
  private readonly requestSlots: RequestSlots | undefined;
  /** Connects the anomaly metrics to the detection engine and the Alertmanager notifier, once they run. */
  readonly watchAnomalyDetection: (sources: AnomalySources) => void;
  /** Made at a status class's first answer: forward-auth mode never shows upstream series. */
  private readonly upstreamSlots: Partial<Record<UpstreamStatusClass, HistogramSlot>> = {};

  constructor(options: MetricsOptions) {
    new Gauge({
      ...metricOptions(METRICS.tokenCacheEntries),
      registers: [this.registry],
      collect() {
        this.set(options.tokenCacheEntries());
      },
    });
    new Gauge({ ...metricOptions(METRICS.buildInfo), registers: [this.registry] }).set({ version: options.version }, 1);
    collectDefaultMetrics({ register: this.registry });
    countedFrom(this.registry, METRICS.logLinesDropped, () => logWriterStats.droppedLines);
    countedFrom(this.registry, METRICS.tracingSpansDropped, () => spanShippingStats.dropped);
    countedFrom(this.registry, METRICS.logWriteErrors, () => logWriterStats.writeErrors);
    this.watchAnomalyDetection = registerAnomalyMetrics(this.registry, labelValues(METRICS.anomalyActive.labels.detector)!);
    // prom-client names these gauges with a counter's `_total` suffix, which promtool (rightly) flags; the per-type
    // series (nodejs_active_handles{type}, ...) carry the same information under valid names.
    for (const name of MISNAMED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    for (const mode of DATA_PLANE_MODES) this.identityHeaderSpoofs.labels(mode);
    if (options.dataPlaneMode !== undefined) this.requestSlots = requestSlots(this.registry, options.dataPlaneMode);
    this.otherScopeSlot = this.scopeTotal.slot({ scope: OTHER });
    const duration = (result: string, cache: string) => this.validationDuration.slot({ result, cache });
    this.durationChildren = {
      success: { hit: duration('success', 'hit'), miss: duration('success', 'miss') },
      failure: { hit: duration('failure', 'hit'), miss: duration('failure', 'miss') },
    };
    this.adopt(options);
    this.addIssuerSlots(UNKNOWN_ISSUER);
  }

  /**
   * Series for the issuers and route scopes of a configuration, made before it serves its first request, so rate()
   * and absent() work before the first event. A reload adds what it names; the series of issuers and scopes it
   * drops stay until restart, so the labels are bounded by what was configured during the process's life.
   */
  adopt(configured: Pick<MetricsOptions, 'issuers' | 'routeScopes'>): void {
    for (const issuer of configured.issuers) {
      if (this.keyLookupSlots.has(issuer)) continue;
      this.addIssuerSlots(issuer);
      this.keyLookupSlots.set(issuer, { requests: this.jwksRequests.slot({ issuer }), misses: this.jwksMisses.slot({ issuer }) });
      this.jwksRefetchThrottled.labels(issuer).inc(0);
      this.idpUp.labels(issuer).set(0);
      this.jwksStale.labels(issuer).set(0);
      this.jwksKeys.labels(issuer).set(0);
    }
    for (const scope of configured.routeScopes) {
      if (!this.scopeSlots.has(scope)) this.scopeSlots.set(scope, this.scopeTotal.slot({ scope }));
    }
  }

  private addIssuerSlots(issuer: string): void {
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

  /**
   * A validation whose span is sampled leaves its trace id as the exemplar of its latency bucket and failure reason,
   * so a dashboard panel links to the trace; any other validation does no exemplar work at all.
   */
  validated(record: ValidationRecord): void {
    const { failure, cache, trace } = record;
    const traceId = trace?.recording ? trace.traceId : undefined;
    const issuer = this.issuerSlots.get(record.issuer ?? UNKNOWN_ISSUER) ?? this.issuerSlots.get(UNKNOWN_ISSUER)!;
    if (cache === 'hit') this.cacheHits.count += 1;
    else if (cache === 'miss') this.cacheMisses.count += 1;
    if (failure) {
      issuer.failure.count += 1;
      if (failure.reason === 'jwks_unavailable' && !record.letThrough) this.requestFailed('jwks_unavailable');
      const reason = issuer.reasons[failure.reason];
      const duration = this.durationChildren.failure[cache ?? 'miss'];
      if (traceId === undefined) {
        reason.count += 1;
        duration.observe(record.seconds);
      } else {
        reason.countTraced(traceId);
        duration.observeTraced(record.seconds, traceId);
      }
      return;
    }
    const token = record.token!;
    issuer.success.count += 1;
    const duration = this.durationChildren.success[cache!];
    if (traceId === undefined) duration.observe(record.seconds);
    else duration.observeTraced(record.seconds, traceId);
    if (cache === 'miss' && token.iat !== undefined) {
      issuer.lifetime.observe(token.exp - token.iat);
      issuer.age.observe(Date.now() / 1000 - token.iat);
    }
    let other = false;
    for (const scope of token.scopes) {
      const slot = this.scopeSlots.get(scope);
      if (slot) slot.count += 1;
      else other = true;
    }
    if (other) this.otherScopeSlot.count += 1;
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
    slots.requests.count += 1;
    if (!found) slots.misses.count += 1;
  }

  requestReceived(): void {
    this.requestSlots!.received.count += 1;
  }

  requestFailed(cause: OwnFailureCause): void {
    this.requestSlots!.failed[cause].count += 1;
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
    const dropped = new Counter({ ...metricOptions(METRICS.listenerConnectionsDropped), registers: [this.registry] });
    server.on('drop', () => {
      dropped.inc();
      // A shed connection carried at least one request that tokenwatch failed.
      this.requestReceived();
      this.requestFailed('connection_shed');
    });
    new Gauge({
      ...metricOptions(METRICS.listenerConnections),
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

function requestSlots(registry: Registry, mode: DataPlaneMode): RequestSlots {
  const failures = new HotCounter({ ...metricOptions(METRICS.requestErrors), registers: [registry] });
  const failed = {} as Record<OwnFailureCause, CounterSlot>;
  for (const cause of OWN_FAILURE_CAUSES) failed[cause] = failures.slot({ mode, cause });
  return { received: new HotCounter({ ...metricOptions(METRICS.requests), registers: [registry] }).slot({ mode }), failed };
}

/** A counter that follows a running total kept elsewhere, read at scrape time. */
function countedFrom(registry: Registry, definition: MetricDefinition, total: () => number): void {
  let counted = 0;
  new Counter({
    ...metricOptions(definition),
    registers: [registry],
    collect() {
      const now = total();
      if (now > counted) this.inc(now - counted);
      counted = now;
    },
  });
}
