import { validateConfig } from '../../dist/config/load.js';
import { startSidecar } from '../../dist/main/sidecar.js';
import { batchedDestination, createLogger } from '../../dist/logging/logger.js';

/**
 * tokenwatch as the bench runs it: `node tokenwatch.mjs [--no-observe-validations]`.
 * The configuration (JSON, before defaults) comes in BENCH_TOKENWATCH_CONFIG; tracing from the OTEL_* variables,
 * exactly as in production. The log goes to BENCH_LOG_FILE when set (as stdout would go to a file; stdout is then
 * left to the READY line, so the orchestrator never drains thousands of log lines a second), else to stdout.
 * `--no-observe-validations` turns off metrics and the audit log per validation: the floor telemetry is priced
 * against. Prints `READY {"url","adminUrl"}` once /readyz says the keys are loaded. SIGTERM drains and exits 0, so a
 * `--cpu-prof` run writes its profile.
 */

const READY_TIMEOUT_MS = 10_000;

const observeValidations = !process.argv.includes('--no-observe-validations');
const logFile = process.env.BENCH_LOG_FILE;
const config = validateConfig(JSON.parse(process.env.BENCH_TOKENWATCH_CONFIG ?? '{}'), 'BENCH_TOKENWATCH_CONFIG');
const logger = createLogger(config.logLevel, logFile ? batchedDestination(logFile) : undefined);
const sidecar = await startSidecar(config, logger, { env: process.env, observeValidations });

process.once('SIGTERM', async () => {
  await sidecar.shutdown();
  logger.flush();
  process.exit(0);
});

const deadline = Date.now() + READY_TIMEOUT_MS;
for (;;) {
  const response = await fetch(`${sidecar.adminUrl}/readyz`);
  const status = await response.json();
  if (response.ok) break;
  if (Date.now() > deadline) throw new Error(`not ready after ${READY_TIMEOUT_MS} ms: ${JSON.stringify(status)}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
}
process.stdout.write(`READY ${JSON.stringify({ url: sidecar.dataPlaneUrl, adminUrl: sidecar.adminUrl, observeValidations })}\n`);
