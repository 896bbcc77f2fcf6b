import type { FastifyInstance } from 'fastify';
import { IdentityHeaderMapper } from './auth/identity-headers.js';
import { TokenCache } from './auth/token-cache.js';
import { TrustedIssuer } from './auth/trusted-issuer.js';
import { TokenValidator } from './auth/verify.js';
import type { Config } from './config/schema.js';
import type { ListenAddress } from './config/types.js';
import { RouteTable } from './policy/routes.js';
import { AccessGate } from './server/access-gate.js';
import { buildAdminServer } from './server/admin.js';
import { Answers } from './server/answers.js';
import { buildAuthzServer } from './server/authz.js';
import { buildProxyServer } from './server/proxy.js';
import { AuditLog } from './telemetry/audit-log.js';
import type { Logger } from './telemetry/logger.js';
import { startTracing } from './telemetry/tracing.js';
import { ValidationMetrics } from './telemetry/metrics.js';
import { fanOutGate, keyStoreObserver } from './telemetry/observers.js';
import { VERSION } from './version.js';

export interface Sidecar {
  readonly config: Config;
  readonly metrics: ValidationMetrics;
  readonly issuers: readonly TrustedIssuer[];
  readonly tokenCache: TokenCache;
  /** Base URL of the data-plane listener, e.g. http://127.0.0.1:8080. */
  readonly dataPlaneUrl: string;
  readonly adminUrl: string;
  /** Stops accepting, drains in-flight requests within `shutdownTimeout`, stops background work. */
  shutdown(): Promise<void>;
}

/**
 * Builds and starts tokenwatch from a validated configuration. Listeners open at once; keys load in the
 * background and /readyz reports when every issuer has usable keys, so an unreachable IdP never blocks start-up.
 */
export async function startSidecar(config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Sidecar> {
  const tracing = await startTracing(env, logger);
  const tokenCache = new TokenCache(config.tokenCache.maxEntries);
  const metrics = new ValidationMetrics({
    version: VERSION,
    issuers: config.issuers.map((issuer) => issuer.issuer),
    routeScopes: [...new Set(config.routes.flatMap((route) => route.scopes))],
    tokenCacheEntries: () => tokenCache.size,
  });
  const keyObserver = keyStoreObserver(metrics, logger);
  const issuers = config.issuers.map((issuerConfig) => new TrustedIssuer(issuerConfig, keyObserver));
  metrics.watchKeyStores(issuers.map((issuer) => issuer.keys));

  const validator = new TokenValidator(
    new Map(issuers.map((issuer) => [issuer.issuer, issuer])),
    tokenCache,
    new IdentityHeaderMapper(config.claimHeaders),
    config.limits.tokenBytes,
  );
  const answers = new Answers(config.realm);
  const audit = new AuditLog(logger, config.auditLog);
  const gate = new AccessGate(new RouteTable(config), validator, answers, config.allowQueryToken, fanOutGate([metrics, audit]), tracing?.validation);

  let accepting = true;
  const identityHeaders = new IdentityHeaderMapper(config.claimHeaders);
  const dataPlane: FastifyInstance =
    config.mode === 'proxy'
      ? buildProxyServer({ config, gate, answers, identityHeaderNames: identityHeaders.headerNames, logger })
      : buildAuthzServer({ config, gate, answers, identityHeaderNames: identityHeaders.headerNames });
  if (config.mode === 'authz' && config.authz.requestSource === 'auto') {
    logger.warn(
      { event: 'config_advice', key: 'authz.requestSource' },
      'authz.requestSource is auto: set x-forwarded (Traefik), x-original (NGINX) or request-line (Envoy, Istio) so clients cannot choose which headers are checked',
    );
  }
  const admin = buildAdminServer({ keyStores: issuers.map((issuer) => issuer.keys), registry: metrics.registry, accepting: () => accepting });

  for (const issuer of issuers) void issuer.keys.start();
  const adminUrl = await listen(admin, config.admin);
  const dataPlaneUrl = await listen(dataPlane, config.listen);
  logger.info({ event: 'started', mode: config.mode, listen: dataPlaneUrl, admin: adminUrl, version: VERSION }, 'tokenwatch started');

  let closing: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    accepting = false;
    const drained = dataPlane.close();
    // Keep-alive connections go idle as their last response finishes; close each as soon as it does.
    const reaper = setInterval(() => dataPlane.server.closeIdleConnections(), 50);
    const deadline = new Promise<'timeout'>((resolve) => setTimeout(resolve, config.shutdownTimeout, 'timeout').unref());
    if ((await Promise.race([drained, deadline])) === 'timeout') {
      logger.warn({ event: 'shutdown_timeout', timeoutMs: config.shutdownTimeout }, 'in-flight requests did not finish in time; closing');
      dataPlane.server.closeAllConnections();
    }
    clearInterval(reaper);
    await admin.close();
    for (const issuer of issuers) issuer.keys.stop();
    await tracing?.shutdown();
    logger.info({ event: 'stopped' }, 'tokenwatch stopped');
  }

  return {
    config,
    metrics,
    issuers,
    tokenCache,
    dataPlaneUrl,
    adminUrl,
    shutdown: () => (closing ??= shutdown()),
  };
}

async function listen(app: FastifyInstance, address: ListenAddress): Promise<string> {
  await app.listen({ host: address.host, port: address.port });
  const bound = app.server.address();
  if (bound === null || typeof bound === 'string') throw new Error('listener has no TCP address');
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return `http://${host}:${bound.port}`;
}
