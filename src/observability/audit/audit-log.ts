import type { GateObserver, ValidationRecord } from '../../server/gate/ports.js';
import type { IdentitySpoof, IdentitySpoofObserver } from '../../server/gate/identity-aliases.js';
import { destinationOf, type Logger } from '../../logging/logger.js';
import { auditEvent } from './audit-event.js';
import { AuditLine, type AuditLevel } from './audit-line.js';

export interface AuditLogOptions {
  /** Share of successful validations logged, 0 to 1; failures are always logged. */
  successSampleRate: number;
}

/**
 * One `token_validated` event per validation with the seed's fields (audit-event.ts). It names the client, scopes,
 * issuer and reason; never the token, its signature or any secret.
 *
 * A logger made by createLogger gets the line from the audit log's own serialiser (audit-line.ts), written to its
 * destination: pino's generic serialisation of the event would be most of telemetry's cost per request. Any other
 * logger (a child with bindings of its own, a test's) gets the event object through pino.
 */
export class AuditLog implements GateObserver, IdentitySpoofObserver {
  private readonly line: AuditLine | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly options: AuditLogOptions,
    private readonly random: () => number = Math.random,
  ) {
    const destination = destinationOf(logger);
    this.line = destination ? new AuditLine(destination, logger) : undefined;
  }

  validated(record: ValidationRecord): void {
    const level: AuditLevel = record.failure ? 'warn' : 'info';
    if (!this.logger.isLevelEnabled(level)) return;
    if (!record.failure && !(this.options.successSampleRate >= 1 || this.random() < this.options.successSampleRate)) return;
    if (this.line) this.line.write(level, record);
    else this.logger[level](auditEvent(record));
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
