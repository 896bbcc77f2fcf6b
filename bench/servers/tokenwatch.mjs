import { validateConfig } from '../../dist/config/load.js';
import { startSidecar } from '../../dist/sidecar.js';
import { createLogger } from '../../dist/telemetry/logger.js';

/**
 * tokenwatch as the bench runs it: the configuration (JSON, before defaults) comes in BENCH_TOKENWATCH_CONFIG.
 * Prints `READY {"url","adminUrl"}` once /readyz says the keys are loaded. SIGTERM drains and exits 0, so a
 * `--cpu-prof` run writes its profile.
 */

const READY_TIMEOUT_MS = 10_000;

const config = validateConfig(JSON.parse(process.env.BENCH_TOKENWATCH_CONFIG ?? '{}'), 'BENCH_TOKENWATCH_CONFIG');
const sidecar = await startSidecar(config, createLogger(config.logLevel));

process.once('SIGTERM', async () => {
  await sidecar.shutdown();
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
process.stdout.write(`READY ${JSON.stringify({ url: sidecar.dataPlaneUrl, adminUrl: sidecar.adminUrl })}\n`);
