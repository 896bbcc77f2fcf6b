import type { ServerOptions } from 'node:http';
import { IdentityHeaderMapper } from '../auth/identity-headers.js';
import type { TokenCache } from '../auth/token-cache.js';
import type { TrustedIssuer } from '../auth/trusted-issuer.js';
import { TokenValidator } from '../auth/verify.js';
import type { Config } from '../config/schema.js';
import { RouteTable } from '../policy/routes.js';
import { AccessGate } from '../server/gate/access-gate.js';
import { Answers } from '../server/gate/answers.js';
import { fanOutSpoof, type IdentitySpoofObserver } from '../server/gate/identity-aliases.js';
import type { DataPlaneMode } from '../server/http/request-observer.js';
import type { DataPlaneHandlers } from '../server/http/swappable-listener.js';
import { AuditLog } from '../observability/audit/audit-log.js';
import type { Logger } from '../logging/logger.js';
import type { ValidationMetrics } from '../observability/metrics/validation-metrics.js';
import { fanOutGate } from './observers.js';
import type { GateObserver } from '../server/gate/ports.js';
import type { Tracing } from '../observability/tracing/tracing.js';

export interface DataPlaneDeps {
  logger: Logger;
  metrics: ValidationMetrics;
  tokenCache: TokenCache;
  tracing: Tracing | undefined;
  /** The configured issuers with their key stores, which outlive a configuration reload when unchanged. */
  issuers: readonly TrustedIssuer[];
  /** False once the listener stopped accepting. */
  listening: () => boolean;
  /** False only to measure telemetry's own cost (bench/): validations are then neither counted nor logged. */
  observeValidations?: boolean | undefined;
  /** Anomaly detection's view of validations, when it is on. */
  anomalyGate?: GateObserver | undefined;
  /** The configured mode's server (loadModeServer). */
  server: ModeServer;
}

/** What every mode's request handlers are built from. */
interface ModeParts {
  config: Config;
  gate: AccessGate;
  answers: Answers;
  identityHeaderNames: readonly string[];
  spoofObserver: IdentitySpoofObserver;
  logger: Logger;
  metrics: ValidationMetrics;
  listening: () => boolean;
}

/** One data-plane mode's server. */
export interface ModeServer {
  handlers(parts: ModeParts): DataPlaneHandlers;
  /** Fixed for the process's life: a reload that changes them is refused. */
  listenerOptions(config: Config): ServerOptions;
}

/**
 * The server of the configured mode, and only that one: the mode never changes while running, and the proxy's
 * upstream pool brings undici, about 9 MB resident that a forward-auth pod does not pay for (decision 17).
 */
export async function loadModeServer(mode: DataPlaneMode): Promise<ModeServer> {
  if (mode === 'proxy') {
    const { buildProxyHandlers, proxyServerOptions } = await import('../server/proxy/server.js');
    return {
      handlers: (parts) => buildProxyHandlers({ ...parts, upstreamObserver: parts.metrics, requestObserver: parts.metrics }),
      listenerOptions: proxyServerOptions,
    };
  }
  const { buildForwardAuthHandlers, forwardAuthServerOptions } = await import('../server/forward-auth/server.js');
  return {
    handlers: (parts) => buildForwardAuthHandlers({ ...parts, requestObserver: parts.metrics }),
    listenerOptions: forwardAuthServerOptions,
  };
}

/**
 * The validation path wired together (Envoy's jwt_authn filter shape): the verifier with its cache, the route table,
 * the access gate, and the request handlers of the configured mode. Built once per configuration; the listener
 * and the key stores outlive it.
 */
export function buildDataPlaneHandlers(config: Config, deps: DataPlaneDeps): DataPlaneHandlers {
  const { logger, metrics, tokenCache, issuers } = deps;
  const identity = new IdentityHeaderMapper(config.claimHeaders);
  const validator = new TokenValidator(new Map(issuers.map((issuer) => [issuer.issuer, issuer])), tokenCache, identity, config.limits.tokenBytes);
  const answers = new Answers(config.realm);
  const auditLog = new AuditLog(logger, config.auditLog);
  const detector = deps.anomalyGate;
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
  return deps.server.handlers({ config, gate, answers, identityHeaderNames: identity.headerNames, spoofObserver, logger, metrics, listening: deps.listening });
}
