import { isDeepStrictEqual } from 'node:util';
import { TokenCache } from '../auth/token-cache.js';
import type { TrustedIssuer } from '../auth/trusted-issuer.js';
import type { Config } from '../config/schema.js';
import { buildAnomalyAlerting, type AnomalyAlerting } from './anomaly-alerting.js';
import { changesNeedingRestart } from './live-config.js';
import { startIdpEventFollowers, type IdpEventFollowers } from '../idp-events/index.js';
import { buildAdminServer } from '../server/admin/server.js';
import { metricsExposition } from '../observability/metrics/exposition.js';
import { httpListener, type Listener } from '../server/http/listener.js';
import type { DataPlaneMode } from '../server/http/request-observer.js';
import { swappableListener, type DataPlaneHandlers, type SwappableListener } from '../server/http/swappable-listener.js';
import type { Logger } from '../logging/logger.js';
import { ValidationMetrics } from '../observability/metrics/validation-metrics.js';
import { startTracing } from '../observability/tracing/tracing.js';
import { TokenwatchError } from '../errors.js';
import { VERSION } from '../version.js';
import { keyStoreObserver } from './observers.js';

export interface Sidecar {
  /** The configuration in force. */
  readonly config: Config;
  readonly metrics: ValidationMetrics;
  readonly issuers: readonly TrustedIssuer[];
  readonly tokenCache: TokenCache;
  /** Base URL of the data-plane listener, e.g. http://127.0.0.1:8080; empty in `mode: events`. */
  readonly dataPlaneUrl: string;
  readonly adminUrl: string;
  /** The IdP event followers, when `idpEvents` is configured. */
  readonly idpEvents: IdpEventFollowers | undefined;
  /** The anomaly detectors and their Alertmanager notifier, when `anomaly.enabled`. */
  readonly anomaly: AnomalyAlerting | undefined;
  /**
   * Puts a validated configuration in force on the open listeners: requests under way finish on the old one, every
   * later request uses the new one. Throws ReloadRefused, changing nothing, when a key that cannot change live does.
   */
  reconfigure(next: Config): Promise<void>;
  /** Stops accepting, drains in-flight requests within `shutdownTimeout`, stops background work. */
  shutdown(): Promise<void>;
}

/** A configuration that changes what cannot change while running (listener addresses, the mode). */
export class ReloadRefused extends TokenwatchError {
  override readonly name = 'ReloadRefused';
  readonly code = 'ERR_CONFIG_RELOAD_REFUSED';

  constructor(readonly reasons: readonly string[]) {
    super(`configuration not reloaded: ${reasons.join('; ')}`);
  }
}

export interface SidecarOptions {
  env?: NodeJS.ProcessEnv;
  /** False only to measure telemetry's own cost (bench/): validations are then neither counted nor logged. */
  observeValidations?: boolean;
}

/**
 * Starts tokenwatch from a validated configuration: the data plane (forward-auth or proxy, absent in `mode: events`),
 * the admin listener and the IdP event followers. Listeners open at once; keys load in the background and /readyz
 * reports when every issuer has usable keys, so an unreachable IdP never blocks start-up.
 */
export async function startSidecar(initial: Config, logger: Logger, options: SidecarOptions = {}): Promise<Sidecar> {
  const env = options.env ?? process.env;
  const tracing = await startTracing(env, logger);
  let config = initial;
  let tokenCache = new TokenCache(config.tokenCache.maxEntries);
  const metrics = new ValidationMetrics({
    version: VERSION,
    ...labelledBy(config),
    tokenCacheEntries: () => tokenCache.size,
    dataPlaneMode: config.mode === 'events' ? undefined : config.mode,
  });
  const anomaly = buildAnomalyAlerting(config, { env, logger, metrics });
  const observer = keyStoreObserver(metrics, logger, anomaly?.detection.idpFetched);
  const plane = config.mode === 'events' ? undefined : await loadDataPlane(config.mode);
  let issuers = plane ? plane.trustIssuers(config.issuers, [], observer).issuers : [];
  metrics.watchKeyStores(issuers.map((issuer) => issuer.keys));
  let idpEvents = startFollowers(config);

  const handlersFor = (next: Config): DataPlaneHandlers =>
    plane!.buildDataPlaneHandlers(next, {
      logger,
      metrics,
      tokenCache,
      tracing,
      issuers,
      listening: () => dataPlane!.httpServer.listening,
      observeValidations: options.observeValidations,
      anomalyGate: anomaly?.detection.gate,
      server: plane!.server,
    });
  const dataPlane: SwappableListener | undefined = plane ? swappableListener(plane.server.listenerOptions(config), handlersFor(config)) : undefined;
  if (dataPlane) {
    // Past the bound, Node closes a new connection on arrival: a flood of connections costs file descriptors and
    // memory up to here, not until the pod is killed.
    dataPlane.httpServer.maxConnections = config.limits.connections;
    metrics.watchListener(dataPlane.httpServer);
  }

  let accepting = true;
  const admin = httpListener(buildAdminServer({ keyStores: () => issuers.map((issuer) => issuer.keys), metrics: metricsExposition(metrics.registry), accepting: () => accepting }));
  for (const issuer of issuers) void issuer.keys.start();
  const adminUrl = await admin.listen(config.admin);
  anomaly?.start(adminUrl);
  const dataPlaneUrl = dataPlane ? await dataPlane.listen(config.listen) : '';
  logger.info({ event: 'started', mode: config.mode, listen: dataPlaneUrl || undefined, admin: adminUrl, version: VERSION }, 'tokenwatch started');

  function startFollowers(from: Config): IdpEventFollowers | undefined {
    if (from.idpEvents.length === 0) return undefined;
    return startIdpEventFollowers(from.idpEvents, {
      registry: metrics.registry,
      logger,
      clientIdTopN: from.metrics.clientIdTopN,
      observer: anomaly?.detection.idpEvents,
    });
  }

  async function reconfigure(next: Config): Promise<void> {
    const refused = changesNeedingRestart(config, next);
    if (refused.length > 0) throw new ReloadRefused(refused);
    const previous = config;
    config = next;
    logger.level = next.logLevel;
    if (plane && dataPlane) {
      const change = plane.trustIssuers(next.issuers, issuers, observer);
      // A new or changed issuer gets its keys before traffic reaches it (bounded by its fetchTimeout); a failed
      // fetch leaves it to its usual retries, and /readyz says so.
      await Promise.all(change.added.map((issuer) => issuer.keys.start()));
      // Cached tokens carry the identity headers made at verification, so a new claim mapping needs a new cache.
      if (next.tokenCache.maxEntries !== previous.tokenCache.maxEntries || !isDeepStrictEqual(next.claimHeaders, previous.claimHeaders)) {
        tokenCache = new TokenCache(next.tokenCache.maxEntries);
      } else {
        tokenCache.evictIssuers(new Set(change.retired.map((issuer) => issuer.issuer)));
      }
      metrics.adopt(labelledBy(next));
      issuers = change.issuers;
      metrics.watchKeyStores(issuers.map((issuer) => issuer.keys));
      dataPlane.httpServer.maxConnections = next.limits.connections;
      dataPlane.swap(handlersFor(next)).catch((error: unknown) => {
        logger.error({ event: 'reload_cleanup_failed', error: (error as Error).message }, 'previous configuration did not close cleanly');
      });
      for (const issuer of change.retired) issuer.keys.stop();
    }
    if (!isDeepStrictEqual(next.idpEvents, previous.idpEvents) || next.metrics.clientIdTopN !== previous.metrics.clientIdTopN) {
      await idpEvents?.stop();
      idpEvents = startFollowers(next);
    }
  }

  async function shutdown(): Promise<void> {
    accepting = false;
    if (dataPlane) await drain(dataPlane, config.shutdownTimeout, logger);
    // Scrapers and probes keep connections alive: each is closed as soon as its answer is out.
    await drain(admin, ADMIN_DRAIN_MS, logger);
    await idpEvents?.stop();
    await anomaly?.stop();
    for (const issuer of issuers) issuer.keys.stop();
    await tracing?.shutdown();
    logger.info({ event: 'stopped' }, 'tokenwatch stopped');
  }

  let closing: Promise<void> | undefined;
  return {
    get config() {
      return config;
    },
    metrics,
    get issuers() {
      return issuers;
    },
    get tokenCache() {
      return tokenCache;
    },
    dataPlaneUrl,
    adminUrl,
    anomaly,
    get idpEvents() {
      return idpEvents;
    },
    reconfigure,
    shutdown: () => (closing ??= shutdown()),
  };
}

/**
 * The validation path (verifier, key stores and their HTTP client, the mode's server), loaded only by the modes that
 * have a data plane: `mode: events` never carries it.
 */
async function loadDataPlane(mode: DataPlaneMode) {
  const [handlers, issuers] = await Promise.all([import('./data-plane.js'), import('./issuers.js')]);
  return { ...handlers, ...issuers, server: await handlers.loadModeServer(mode) };
}

/** The label values a configuration brings: its issuers and the scopes its routes name. */
function labelledBy(config: Config): { issuers: string[]; routeScopes: string[] } {
  return { issuers: config.issuers.map((issuer) => issuer.issuer), routeScopes: [...new Set(config.routes.flatMap((route) => route.scopes))] };
}

/** A scrape or probe under way at shutdown gets this long to finish. */
const ADMIN_DRAIN_MS = 2000;

/** Stops accepting and lets in-flight requests finish within the bound; then closes what is left. */
async function drain(listener: Listener, timeoutMs: number, logger: Logger): Promise<void> {
  const drained = listener.close();
  // Keep-alive connections go idle as their last response finishes; close each as soon as it does, and every
  // connection that has not sent a request at all.
  const reap = () => {
    listener.httpServer.closeIdleConnections();
    listener.closeUnusedConnections();
  };
  reap();
  const reaper = setInterval(reap, 50);
  const deadline = new Promise<'timeout'>((resolve) => setTimeout(resolve, timeoutMs, 'timeout').unref());
  if ((await Promise.race([drained, deadline])) === 'timeout') {
    logger.warn({ event: 'shutdown_timeout', timeoutMs }, 'in-flight requests did not finish in time; closing');
    listener.httpServer.closeAllConnections();
  }
  clearInterval(reaper);
}
