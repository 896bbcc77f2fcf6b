import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { runCli, runProcess, type CliProcess } from '../support/cli-process.js';
import { eventually } from '../support/eventually.js';
import { acceptsConnections, freePort } from '../support/lifecycle.js';

/**
 * `tokenwatch dev` across runs (its state directory) and under `npm start` (signals to npm's process). Every run
 * here keeps its state in a temporary directory, never in the clone.
 */

const dir = await mkdtemp(join(tmpdir(), 'tokenwatch-dev-stack-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const STARTED = /curl -s .*\/metrics/;
const STOP_BOUND_MS = 20_000;

function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return acceptsConnections(Number(port), hostname);
}

/** What a started dev stack printed: its four listeners and the orders client's credentials. */
function printed(stack: CliProcess) {
  const out = stack.stdout();
  const [, clientId, secret, tokenEndpoint] = out.match(/-u '(orders-service):([^']+)' .* (http:\S+\/token)/)!;
  const urls = ['identity provider', 'tokenwatch', 'admin', 'demo upstream'].map((name) => out.match(new RegExp(`^  ${name} +(http://[\\d.:]+)`, 'm'))![1]!);
  const [, api] = out.match(/curl -i (http:\S+)/)!;
  return { clientId: clientId!, secret: secret!, tokenEndpoint: tokenEndpoint!, urls, api: api! };
}

async function orderToken(stack: CliProcess): Promise<string> {
  const { clientId, secret, tokenEndpoint } = printed(stack);
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=read%3Aorders',
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function stopWith(stack: CliProcess, signal: NodeJS.Signals): Promise<number | null> {
  stack.child.kill(signal);
  return stack.exited;
}

describe('the state directory', () => {
  const stateDir = join(dir, 'kept');
  let idpPort = 0;
  const devArgs = (...extra: string[]) => ['dev', '--port', '0', '--admin-port', '0', '--idp-port', String(idpPort), '--upstream-port', '0', '--state-dir', stateDir, '--log-level', 'warn', ...extra];
  let earlierToken = '';
  let earlierSecret = '';

  test('a token from an earlier run is still accepted after a restart, and the client secrets are the same', async () => {
    idpPort = await freePort();
    const first = runCli(devArgs());
    await first.waitForOutput(STARTED, 20_000);
    expect(first.stdout()).toContain('new signing key and client secrets');
    earlierToken = await orderToken(first);
    earlierSecret = printed(first).secret;
    expect(await stopWith(first, 'SIGINT')).toBe(0);

    const second = runCli(devArgs());
    try {
      await second.waitForOutput(STARTED, 20_000);
      expect(second.stdout()).toContain('signing key and client secrets of earlier runs');
      expect(printed(second).secret).toBe(earlierSecret);
      const response = await fetch(printed(second).api, { headers: { authorization: `Bearer ${earlierToken}` } });
      expect(response.status).toBe(200);
    } finally {
      expect(await stopWith(second, 'SIGINT')).toBe(0);
    }
  });

  test('--reset makes a new signing key and new secrets: the earlier token is refused', async () => {
    const reset = runCli(devArgs('--reset'));
    try {
      await reset.waitForOutput(STARTED, 20_000);
      expect(reset.stdout()).toContain('new signing key and client secrets');
      expect(printed(reset).secret).not.toBe(earlierSecret);
      const response = await fetch(printed(reset).api, { headers: { authorization: `Bearer ${earlierToken}` } });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { reason: string }).reason).toBe('unknown_key');
    } finally {
      expect(await stopWith(reset, 'SIGINT')).toBe(0);
    }
  });
});

describe('npm start', () => {
  // The start script runs tokenwatch through scripts/supported-node.sh, which fetches Node 24 when the `node` on
  // PATH is older than 22.12: the test puts its own Node first, and must run on a supported one to stay offline.
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const nodeDir = dirname(process.execPath);

  /** `npm start` exactly as the README gives it, less the build (prestart) that `npm test` has already done. */
  function npmStart(): CliProcess {
    if (major < 22 || (major === 22 && minor < 12)) {
      throw new Error(`this test needs Node >= 22.12, not ${process.version}: run it through npm test, which picks one`);
    }
    const state = join(dir, `npm-start-${Math.random().toString(36).slice(2)}`);
    return runProcess('npm', ['start', '--ignore-scripts', '--', '--port', '0', '--admin-port', '0', '--idp-port', '0', '--upstream-port', '0', '--state-dir', state], {
      cwd: REPO,
      env: { PATH: `${nodeDir}:${process.env.PATH ?? ''}` },
    });
  }

  test.each(['SIGTERM', 'SIGINT'] as const)('%s to npm\'s own process stops tokenwatch, its IdP and the demo upstream, and npm exits', async (signal) => {
    const npm = npmStart();
    await npm.waitForOutput(STARTED, 30_000);
    const { urls } = printed(npm);
    for (const url of urls) expect(await accepts(url)).toBe(true);

    npm.child.kill(signal);
    const exited = await Promise.race([npm.exited, new Promise<'still running'>((resolve) => setTimeout(resolve, STOP_BOUND_MS, 'still running'))]);
    expect(exited).toBe(0);
    for (const url of urls) await eventually(async () => expect(await accepts(url)).toBe(false), 5_000);
  });
});
