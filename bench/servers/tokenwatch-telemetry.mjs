import { validateConfig } from '../../dist/config/load.js';
import { startSidecar } from '../../dist/sidecar.js';
import { batchedDestination, createLogger } from '../../dist/telemetry/logger.js';

/**
 * tokenwatch for the telemetry suite:
 *   node tokenwatch-telemetry.mjs [--no-observe-validations]
 * The configuration (JSON, before defaults) comes in BENCH_TOKENWATCH_CONFIG, as for tokenwatch.mjs; tracing is
 * configured by the OTEL_* variables of the environment, exactly as in production. The log (the audit log
 * included) goes to BENCH_LOG_FILE, as tokenwatch's stdout would go to a file: stdout is left to the READY line, so
 * the orchestrator never has to drain tens of thousands of log lines a second. `--no-observe-validations` turns
 * off metrics and the audit log per validation (`observeValidations: false`): the floor telemetry is priced against.
 * Prints `READY {"url","adminUrl"}` once /readyz says the keys are loaded; SIGTERM drains and exits 0.
 */

const READY_TIMEOUT_MS = 10_000;

const observeValidations = !process.argv.includes('--no-observe-validations');
const logFile = process.env.BENCH_LOG_FILE;
if (!logFile) throw new Error('BENCH_LOG_FILE is not set');
const config = validateConfig(JSON.parse(process.env.BENCH_TOKENWATCH_CONFIG ?? '{}'), 'BENCH_TOKENWATCH_CONFIG');
const logger = createLogger(config.logLevel, batchedDestination(logFile));
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
