import { IdentityHeaderMapper } from '../auth/identity-headers.js';
import { TokenCache } from '../auth/token-cache.js';
import { TrustedIssuer } from '../auth/trusted-issuer.js';
import { TokenValidator } from '../auth/verify.js';
import type { Config } from '../config/schema.js';
import { RouteTable } from '../policy/routes.js';
import { AccessGate } from '../server/gate/access-gate.js';
import { Answers } from '../server/gate/answers.js';
import { buildForwardAuthServer } from '../server/forward-auth/server.js';
import { fanOutSpoof } from '../server/gate/identity-aliases.js';
import { httpListener, type Listener } from '../server/http/listener.js';
import { buildProxyServer } from '../server/proxy/server.js';
import { AuditLog } from '../observability/audit/audit-log.js';
import type { Logger } from '../logging/logger.js';
import type { ValidationMetrics } from '../observability/metrics/validation-metrics.js';
import { fanOutGate, keyStoreObserver, type FetchWatcher } from './observers.js';
import type { GateObserver } from '../server/gate/ports.js';
import type { Tracing } from '../observability/tracing/tracing.js';

export interface DataPlane {
  readonly issuers: readonly TrustedIssuer[];
  readonly tokenCache: TokenCache;
  readonly listener: Listener;
}

/**
 * The validation path wired together (Envoy's jwt_authn filter shape): issuers and their key stores, the verifier
 * with its cache, the route table, the access gate, and the server of the configured mode.
 */
export function buildDataPlane(
  config: Config,
  deps: {
    logger: Logger;
    metrics: ValidationMetrics;
    tokenCache: TokenCache;
    tracing: Tracing | undefined;
    /** False only to measure telemetry's own cost (bench/): validations are then neither counted nor logged. */
    observeValidations?: boolean;
    /** Anomaly detection's view of validations and of the key stores' fetches, when it is on. */
    anomaly?: { gate: GateObserver | undefined; idpFetched: FetchWatcher | undefined } | undefined;
  },
): DataPlane {
  const { logger, metrics, tokenCache } = deps;
  const issuers = config.issuers.map((issuerConfig) => new TrustedIssuer(issuerConfig, keyStoreObserver(metrics, logger, deps.anomaly?.idpFetched)));
  metrics.watchKeyStores(issuers.map((issuer) => issuer.keys));
  const identity = new IdentityHeaderMapper(config.claimHeaders);
  const validator = new TokenValidator(new Map(issuers.map((issuer) => [issuer.issuer, issuer])), tokenCache, identity, config.limits.tokenBytes);
  const answers = new Answers(config.realm);
  const auditLog = new AuditLog(logger, config.auditLog);
  const detector = deps.anomaly?.gate;
  const observers = deps.observeValidations === false ? undefined : fanOutGate([metrics, auditLog, ...(detector ? [detector] : [])]);
  // Spoofing attempts are always counted and logged: they are rare, and bench/'s switch is about validations.
  const spoofObserver = fanOutSpoof([metrics, auditLog]);
  const gate = new AccessGate(new RouteTable(config), validator, answers, config.allowQueryToken, observers, deps.tracing?.validation);

  if (config.mode === 'authz' && config.authz.requestSource === 'auto') {
    logger.warn(
      { event: 'config_advice', key: 'authz.requestSource' },
      'authz.requestSource is auto: set x-forwarded (Traefik), x-original (NGINX) or request-line (Envoy, Istio) so clients cannot choose which headers are checked',
    );
  }
  const listener =
    config.mode === 'proxy'
      ? buildProxyServer({ config, gate, identityHeaderNames: identity.headerNames, spoofObserver, logger, upstreamObserver: metrics, requestObserver: metrics })
      : httpListener(buildForwardAuthServer({ config, gate, answers, identityHeaderNames: identity.headerNames, spoofObserver, logger, requestObserver: metrics }));
  // Past the bound, Node closes a new connection on arrival: a flood of connections costs file descriptors and
  // memory up to here, not until the pod is killed.
  listener.httpServer.maxConnections = config.limits.connections;
  metrics.watchListener(listener.httpServer);
  return { issuers, tokenCache, listener };
}
