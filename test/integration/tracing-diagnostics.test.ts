import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli, type CliProcess } from '../support/cli-process.js';
import { startJwksServer, type JwksServer } from '../support/jwks-server.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

// The SDK's diagnostics logger is process-wide, so each case runs tokenwatch as a process of its own.
let jwks: JwksServer;
let receiver: OtlpReceiver;
let config: string;

beforeAll(async () => {
  jwks = await startJwksServer();
  receiver = await startOtlpReceiver();
  config = join(await mkdtemp(join(tmpdir(), 'tokenwatch-diag-')), 'config.yaml');
  await writeFile(config, `listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nissuers:\n  - issuer: ${jwks.issuer}\n    audiences: [orders-api]\n`);
});

afterAll(async () => {
  await receiver?.stop();
  await jwks?.stop();
});

/** tokenwatch with tracing on and a sampler name the SDK does not know, which the SDK reports as an error. */
async function runTraced(env: NodeJS.ProcessEnv): Promise<CliProcess> {
  const cli = runCli(['run', '--config', config], { OTEL_SDK_DISABLED: '', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_TRACES_SAMPLER: 'bogus', ...env });
  await cli.waitForOutput(/"event":"started"/, 20_000);
  cli.child.kill('SIGTERM');
  await cli.exited;
  return cli;
}

test('OTEL_LOG_LEVEL prints the SDK\'s own diagnostics on the console', async () => {
  const cli = await runTraced({ OTEL_LOG_LEVEL: 'error' });
  expect(cli.stderr()).toContain('OTEL_TRACES_SAMPLER value "bogus" invalid');
});

test('without OTEL_LOG_LEVEL the SDK\'s diagnostics are not printed', async () => {
  const cli = await runTraced({ OTEL_LOG_LEVEL: '' });
  expect(cli.stdout()).toContain('"event":"tracing_started"');
  expect(cli.stderr() + cli.stdout()).not.toContain('OTEL_TRACES_SAMPLER');
});
