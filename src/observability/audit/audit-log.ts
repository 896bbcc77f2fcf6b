import type { GateObserver, ValidationReport } from '../../server/gate/access-gate.js';
import type { IdentitySpoof, IdentitySpoofObserver } from '../../server/gate/identity-aliases.js';
import { SuccessLineWriter, auditLine, isoTimeMember, pinoLineFormat, type AuditLevel, type PinoLineFormat } from './audit-line.js';
import { LineBatcher } from '../../logging/line-batcher.js';
import type { Logger } from '../../logging/logger.js';
import { traceIdOf } from '../tracing/tracing.js';

export interface AuditLogOptions {
  /** Share of successful validations logged, 0 to 1; failures are always logged. */
  successSampleRate: number;
}

/**
 * One `token_validated` event per validation with the seed's fields. It names the client, scopes, issuer and
 * reason; never the token, its signature or any secret.
 *
 * The line is built by audit-line.ts and written straight to the logger's destination, the stream pino writes every
 * other line to (so lines stay in order): pino's generic serialisation of the event was most of telemetry's cost per
 * request. The line is byte-compatible with pino's. A logger whose format audit-line.ts cannot reproduce (a child,
 * no stream of its own, a mixin...) gets the event object through pino, as before.
 */
export class AuditLog implements GateObserver, IdentitySpoofObserver {
  /** Read once: the destination stream and line format of the logger, when the line can be written directly. */
  private readonly direct: PinoLineFormat | undefined;
  /** Successful validations' lines as bytes, when the destination is tokenwatch's own batcher and the time is pino's isoTime. */
  private readonly successes: SuccessLineWriter | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly options: AuditLogOptions,
    private readonly random: () => number = Math.random,
  ) {
    this.direct = pinoLineFormat(logger);
    const direct = this.direct;
    this.successes = direct && direct.stream instanceof LineBatcher && direct.time === isoTimeMember ? new SuccessLineWriter(direct, direct.stream) : undefined;
  }

  validated(report: ValidationReport): void {
    const failure = report.failure;
    const level: AuditLevel = failure ? 'warn' : 'info';
    if (!this.logger.isLevelEnabled(level)) return;
    if (!failure && !(this.options.successSampleRate >= 1 || this.random() < this.options.successSampleRate)) return;
    if (this.successes?.write(report)) return;
    if (this.direct) this.direct.stream.write(auditLine(this.direct, level, report));
    else this.logger[level](eventOf(report));
  }

  /**
   * One `identity_header_spoof` event per request that carried an alias of an identity header: the header names as
   * sent (never their values), the method and the path without its query. Rare, so through pino like any warning.
   */
  identityHeaderSpoofed(spoof: IdentitySpoof): void {
    this.logger.warn(
      { event: 'identity_header_spoof', mode: spoof.mode, method: spoof.method, path: spoof.path, headers: spoof.headers },
      'a client sent an alias of an identity header',
    );
  }
}

/** The event as an object, for pino's own serialisation; audit-line.ts writes the same members in the same order. */
function eventOf(report: ValidationReport): Record<string, unknown> {
  const failure = report.failure;
  const token = report.validation?.token;
  return {
    event: 'token_validated',
    trace_id: report.trace?.traceId ?? traceIdOf(report.request.traceparent),
    client_id: token?.clientId,
    grant_type: token?.grantType,
    scopes: token ? [...token.scopes] : undefined,
    validation_result: failure ? 'failure' : 'success',
    failure_reason: failure?.reason,
    failure_description: failure?.description,
    auth_server: token?.issuer ?? failure?.context?.issuer,
    kid: token?.key.kid ?? failure?.context?.kid,
    cache: report.validation?.cache ?? failure?.context?.cache,
    duration_ms: Math.round(report.seconds * 1e6) / 1e3,
    route: report.route.pattern,
    method: report.request.method,
    status: report.decision.allowed ? 200 : report.decision.denial!.status,
    enforcement: report.route.enforcement,
    ...(failure && report.decision.allowed ? { let_through: true } : {}),
  };
}
