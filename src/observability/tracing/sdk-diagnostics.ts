import { DiagConsoleLogger, diag } from '@opentelemetry/api';
import { diagLogLevelFromString } from '@opentelemetry/core';

/**
 * The SDK's own diagnostics (an export that failed, an OTEL_* value it could not use) go to the console at the level
 * of OTEL_LOG_LEVEL, as the specification's SDK variable says; without it they are not printed. Each thread has its
 * own diagnostics logger, so both the request thread and the export worker call this.
 */
export function routeSdkDiagnostics(env: NodeJS.ProcessEnv): void {
  const level = diagLogLevelFromString(env.OTEL_LOG_LEVEL?.trim() || undefined);
  if (level !== undefined) diag.setLogger(new DiagConsoleLogger(), { logLevel: level });
}
