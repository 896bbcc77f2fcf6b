import { TokenCache } from '../auth/token-cache.js';
import type { TrustedIssuer } from '../auth/trusted-issuer.js';
import type { Config } from '../config/schema.js';
import { buildAnomalyAlerting, type AnomalyAlerting } from './anomaly-alerting.js';
import { buildDataPlane } from './data-plane.js';
import { startIdpEventFollowers, type IdpEventFollowers } from '../idp-events/index.js';
import { buildAdminServer } from '../server/admin/server.js';
import { fastifyListener, type Listener } from '../server/http/listener.js';
import type { Logger } from '../logging/logger.js';
import { ValidationMetrics } from '../observability/metrics/validation-metrics.js';
import { startTracing } from '../observability/tracing/tracing.js';
import { VERSION } from '../version.js';

export interface Sidecar {
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
  /** Stops accepting, drains in-flight requests within `shutdownTimeout`, stops background work. */
  shutdown(): Promise<void>;
}

/**
 * Starts tokenwatch from a validated configuration: the data plane (forward-auth or proxy, absent in `mode: events`),
 * the admin listener and the IdP event followers. Listeners open at once; keys load in the background and /readyz
 * reports when every issuer has usable keys, so an unreachable IdP never blocks start-up.
 */
export interface SidecarOptions {
  env?: NodeJS.ProcessEnv;
  /** False only to measure telemetry's own cost (bench/): validations are then neither counted nor logged. */
  observeValidations?: boolean;
}

export async function startSidecar(config: Config, logger: Logger, options: SidecarOptions = {}): Promise<Sidecar> {
  const env = options.env ?? process.env;
  const tracing = await startTracing(env, logger);
  const tokenCache = new TokenCache(config.tokenCache.maxEntries);
  const metrics = new ValidationMetrics({
    version: VERSION,
    issuers: config.issuers.map((issuer) => issuer.issuer),
    routeScopes: [...new Set(config.routes.flatMap((route) => route.scopes))],
    tokenCacheEntries: () => tokenCache.size,
    dataPlaneMode: config.mode === 'events' ? undefined : config.mode,
  });
  const anomaly = buildAnomalyAlerting(config, { env, logger, metrics });
  const dataPlane =
    config.mode === 'events'
      ? undefined
      : buildDataPlane(config, { logger, metrics, tokenCache, tracing, observeValidations: options.observeValidations, anomaly: anomaly?.detection });
  const issuers = dataPlane?.issuers ?? [];
  const idpEvents =
    config.idpEvents.length > 0
      ? startIdpEventFollowers(config.idpEvents, {
          registry: metrics.registry,
          logger,
          clientIdTopN: config.metrics.clientIdTopN,
          observer: anomaly?.detection.idpEvents,
        })
      : undefined;

  let accepting = true;
  const admin = fastifyListener(buildAdminServer({ keyStores: issuers.map((issuer) => issuer.keys), registry: metrics.registry, accepting: () => accepting }));
  for (const issuer of issuers) void issuer.keys.start();
  const adminUrl = await admin.listen(config.admin);
  anomaly?.start(adminUrl);
  const dataPlaneUrl = dataPlane ? await dataPlane.listener.listen(config.listen) : '';
  logger.info({ event: 'started', mode: config.mode, listen: dataPlaneUrl || undefined, admin: adminUrl, version: VERSION }, 'tokenwatch started');

  async function shutdown(): Promise<void> {
    accepting = false;
    if (dataPlane) await drain(dataPlane.listener, config.shutdownTimeout, logger);
    await admin.close();
    await idpEvents?.stop();
    await anomaly?.stop();
    for (const issuer of issuers) issuer.keys.stop();
    await tracing?.shutdown();
    logger.info({ event: 'stopped' }, 'tokenwatch stopped');
  }

  let closing: Promise<void> | undefined;
  return {
    config,
    metrics,
    issuers,
    tokenCache,
    dataPlaneUrl,
    adminUrl,
    idpEvents,
    anomaly,
    shutdown: () => (closing ??= shutdown()),
  };
}

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
