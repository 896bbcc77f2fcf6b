import type { GateObserver, ValidationReport } from '../server/access-gate.js';
import type { Logger } from './logger.js';
import { traceIdOf } from './tracing.js';

export interface AuditLogOptions {
  /** Share of successful validations logged, 0 to 1; failures are always logged. */
  successSampleRate: number;
}

/**
 * One `token_validated` event per validation with the seed's fields. It names the client, scopes, issuer and
 * reason; never the token, its signature or any secret.
 */
export class AuditLog implements GateObserver {
  constructor(
    private readonly logger: Logger,
    private readonly options: AuditLogOptions,
    private readonly random: () => number = Math.random,
  ) {}

  validated(report: ValidationReport): void {
    const failure = report.failure;
    const level = failure ? 'warn' : 'info';
    if (!this.logger.isLevelEnabled(level)) return;
    if (!failure && !(this.options.successSampleRate >= 1 || this.random() < this.options.successSampleRate)) return;
    const token = report.validation?.token;
    this.logger[level]({
      event: 'token_validated',
      trace_id: report.traceId ?? traceIdOf(report.request.traceparent),
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
    });
  }
}
