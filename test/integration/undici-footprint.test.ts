import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CLI, runProcess } from '../support/cli-process.js';
import { eventually } from '../support/eventually.js';
import { useJwksServer } from '../support/jwks-server.js';
import { sampleValue } from '../support/sidecar.js';

/**
 * undici (the package, and the copy of it Node.js loads once anything touches its web globals) costs a pod resident
 * memory, so only the proxy's upstream pool may load it (decision 17). The real CLI runs each mode, compiled (dist/)
 * and as the image runs it (the bundle `npm test` builds), with a preload that lists, at exit, every script the
 * process compiled. In the bundle the package has no file of its own, but loading it loads Node.js's copy, which is
 * listed as `node:internal/deps/undici/undici`.
 */

const ENTRY_POINTS = [
  ['the compiled CLI', CLI],
  ["the image's bundle", fileURLToPath(new URL('../../bundle/cli.js', import.meta.url))],
] as const;
const PRELOAD = fileURLToPath(new URL('../support/loaded-scripts.mjs', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'tokenwatch-undici-'));
const jwks = useJwksServer();
const UNDICI = /undici/;
let runs = 0;

interface Started {
  listen: string | undefined;
  admin: string;
}

/** Runs `tokenwatch run` on `config` until `exercise` is done, then SIGTERM; the URLs of the scripts it loaded. */
async function scriptsLoadedBy(cli: string, name: string, config: Record<string, unknown>, exercise: (started: Started) => Promise<void>): Promise<string[]> {
  const configFile = join(dir, `${name}.json`);
  const scriptsFile = join(dir, `${name}-${(runs += 1)}.scripts.json`);
  await writeFile(configFile, JSON.stringify({ admin: '127.0.0.1:0', ...config }));
  const running = runProcess(process.execPath, ['--import', PRELOAD, cli, 'run', '--config', configFile], { env: { TOKENWATCH_LOADED_SCRIPTS: scriptsFile } });
  try {
    const [line] = await running.waitForOutput(/^.*"event":"started".*$/m, 20_000);
    await exercise(JSON.parse(line) as Started);
  } finally {
    running.child.kill('SIGTERM');
  }
  expect(await running.exited).toBe(0);
  const scripts = JSON.parse(await readFile(scriptsFile, 'utf8')) as string[];
  // The list is the process's own: its entry point is in it.
  expect(scripts).toContain(pathToFileURL(cli).href);
  return scripts;
}

async function readyKeys(admin: string): Promise<void> {
  await eventually(async () => expect((await fetch(`${admin}/readyz`)).status).toBe(200), 15_000);
}

describe.each(ENTRY_POINTS)('undici stays out of the modes that do not proxy: %s', (_name, cli) => {
  test('forward-auth fetches discovery and the JWKS, answers a request and shuts down without loading undici', async () => {
    const scripts = await scriptsLoadedBy(cli, 'authz', { mode: 'authz', listen: '127.0.0.1:0', authz: { requestSource: 'x-forwarded' }, issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }] }, async ({ listen, admin }) => {
      await readyKeys(admin);
      const token = await jwks().sign({ aud: 'orders-api', sub: 'u' });
      const answer = await fetch(listen!, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/api/orders/42' } });
      expect(answer.status).toBe(200);
    });
    expect(scripts.filter((url) => UNDICI.test(url))).toEqual([]);
  });

  test('events mode follows an IdP event log and shuts down without loading undici', async () => {
    const log = join(dir, 'events.jsonl');
    await writeFile(log, `${JSON.stringify({ event: 'token_issued', client_id: 'a', grant_type: 'client_credentials', token_type: 'access' })}\n`);
    const scripts = await scriptsLoadedBy(cli, 'events', { mode: 'events', idpEvents: [{ path: log, format: 'jsonl', issuer: 'https://idp.example.com', fromBeginning: true }] }, async ({ admin }) => {
      await eventually(async () => expect(sampleValue(await (await fetch(`${admin}/metrics`)).text(), 'token_issuance_total', { client_id: 'a' })).toBe(1), 15_000);
    });
    expect(scripts.filter((url) => UNDICI.test(url))).toEqual([]);
  });

  test('the proxy loads undici for its upstream pool, so the listing would show it anywhere else', async () => {
    const scripts = await scriptsLoadedBy(cli, 'proxy', { mode: 'proxy', listen: '127.0.0.1:0', upstream: 'http://127.0.0.1:9', issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }] }, ({ admin }) => readyKeys(admin));
    expect(scripts.some((url) => UNDICI.test(url))).toBe(true);
  });
});
