#!/usr/bin/env node
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { ConfigError, parseConfigText, readConfigText } from '../config/load.js';
import { configProblemLines } from '../cli/config-problems.js';
import { LOG_LEVELS } from '../config/schema.js';
import { ConfigReloader } from './reload.js';
import { startSidecar } from './sidecar.js';
import { createLogger } from '../logging/logger.js';
import { VERSION } from '../version.js';

/** Exit codes: 0 fine, 1 runtime failure, 2 bad configuration or usage. */
export const EXIT_CONFIG = 2;

const program = new Command()
  .name('tokenwatch')
  .description('OIDC token sidecar: validates bearer tokens for its pod and makes auth observable')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT_CONFIG));

// Each command loads its own modules when it runs: the sidecar never carries the dev stack or the CLI tools.
program
  .command('run', { isDefault: true })
  .description('run the sidecar')
  .addOption(new Option('-c, --config <file>', 'configuration file (YAML)').env('TOKENWATCH_CONFIG'))
  .action(async (options: { config?: string }) => {
    if (!options.config) {
      process.stderr.write('tokenwatch run: no configuration; pass --config FILE or set TOKENWATCH_CONFIG\n');
      process.exit(EXIT_CONFIG);
    }
    const file = options.config;
    const { text, config } = await loadOrExit(file);
    const logger = createLogger(config.logLevel);
    const starting = startSidecar(config, logger).then((sidecar) => {
      const reloader = new ConfigReloader(sidecar, logger, { file, loadedText: text });
      reloader.start();
      return { sidecar, reloader };
    });
    onStopSignal(async () => {
      const { sidecar, reloader } = await starting;
      reloader.stop();
      await sidecar.shutdown();
      logger.flush();
    });
    await starting;
  });

program
  .command('dev')
  .description('run tokenwatch on an embedded dev stack: a real OIDC provider, a demo upstream and the sidecar')
  .addOption(new Option('--mode <mode>', 'data-plane mode').choices(['proxy', 'authz']).default('proxy'))
  .addOption(new Option('--port <port>', 'data-plane port').default('8080'))
  .addOption(new Option('--admin-port <port>', 'admin port').default('9464'))
  .addOption(new Option('--idp-port <port>', 'embedded IdP port').default('9400'))
  .addOption(new Option('--upstream-port <port>', 'demo upstream port').default('3000'))
  .addOption(new Option('--log-level <level>', 'log level; info shows one token_validated event per validation').choices([...LOG_LEVELS]).default('info'))
  .option('--state-dir <dir>', 'where the signing key, client secrets and configuration are kept across runs', '.tokenwatch-dev')
  .option('--reset', 'delete the state directory first: new signing key and client secrets', false)
  .action(async (options: { mode: 'proxy' | 'authz'; port: string; adminPort: string; idpPort: string; upstreamPort: string; logLevel: string; stateDir: string; reset: boolean }) => {
    const { runDevStack } = await import('../dev/dev-stack.js');
    const starting = runDevStack({
      mode: options.mode,
      port: Number(options.port),
      adminPort: Number(options.adminPort),
      idpPort: Number(options.idpPort),
      upstreamPort: Number(options.upstreamPort),
      logLevel: options.logLevel,
      stateDir: resolve(options.stateDir),
      reset: options.reset,
      command: commandHere(),
      out: process.stdout,
    });
    onStopSignal(async () => (await starting).stop());
    await starting;
  });

program
  .command('check-config')
  .description('validate a configuration file; with --live also check the IdP before a rollout')
  .argument('<file>', 'configuration file (YAML)')
  .option('--live', 'reach discovery and JWKS, compare issuers and algorithms', false)
  .action(async (file: string, options: { live: boolean }) => {
    const { runCheckConfig } = await import('../cli/check-config.js');
    process.exitCode = await runCheckConfig(file, options, process.stdout);
  });

program
  .command('inspect-token')
  .description('decode a token and, with a config, say which check passes or fails and why (never prints the signature)')
  .argument('<token>', 'the token, or - to read it from standard input')
  .addOption(new Option('-c, --config <file>', 'configuration to validate against').env('TOKENWATCH_CONFIG'))
  .option('--method <method>', 'with --path: the request method', 'GET')
  .option('--path <path>', 'a request path (and query): match its route and check its scopes, as the sidecar decides it')
  .action(async (token: string, options: { config?: string; method: string; path?: string }) => {
    const { runInspectToken } = await import('../cli/inspect-token.js');
    process.exitCode = await runInspectToken(token, options, { stdin: process.stdin, stdout: process.stdout });
  });

async function loadOrExit(file: string) {
  try {
    const text = await readConfigText(file);
    return { text, config: parseConfigText(text, file) };
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${configProblemLines(error).join('\n')}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
}

/**
 * How a person runs this CLI from the working directory, for printed commands: in the clone itself `npx tokenwatch`
 * (npm runs the package's own bin), elsewhere `tokenwatch` (installed, or put on PATH with npm link).
 */
function commandHere(): string {
  const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
  return resolve(process.cwd()) === resolve(packageRoot) ? 'npx tokenwatch' : 'tokenwatch';
}

/**
 * SIGTERM and SIGINT stop gracefully; a second signal exits at once. Installed before start-up begins: a signal
 * that arrives while listeners open (or just after the process said it was up) waits for the start, then stops,
 * instead of killing the process with its work half done.
 */
function onStopSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\n${signal}: stopping\n`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`tokenwatch: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
