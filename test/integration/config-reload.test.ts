import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { stringify } from 'yaml';
import { afterEach, describe, expect, test } from 'vitest';
import { readConfigText, parseConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/logging/logger.js';
import { ConfigReloader } from '../../src/main/reload.js';
import { startSidecar, type Sidecar } from '../../src/main/sidecar.js';
import { runCli } from '../support/cli-process.js';
import { eventually } from '../support/eventually.js';
import { useJwksServer } from '../support/jwks-server.js';
import { close, listen, useStarted } from '../support/lifecycle.js';
import { logSink, sampleValue } from '../support/sidecar.js';

const orders = useJwksServer();
const billing = useJwksServer();
const upstream = useStarted(async () => {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'text/plain' }).end('app'));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, stop: () => close(server) };
});

type RawConfig = Record<string, unknown>;

function baseConfig(mode: 'proxy' | 'authz' = 'proxy'): RawConfig {
  return {
    mode,
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    ...(mode === 'proxy' ? { upstream: upstream().url } : { authz: { requestSource: 'x-forwarded' } }),
    issuers: [
      { issuer: orders().issuer, audiences: ['orders-api'] },
      { issuer: billing().issuer, audiences: ['billing-api'] },
    ],
    routes: [
      { path: '/public/**', public: true },
      { path: '/api/**', scopes: ['read'] },
    ],
    defaultRoute: 'deny',
  };
}

interface Running {
  sidecar: Sidecar;
  reloader: ConfigReloader;
  file: string;
  logs: Array<Record<string, unknown>>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  write(raw: RawConfig): void;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** tokenwatch started from a file in `dir` (a temporary directory unless given), with a reloader watching it. */
async function startFromFile(raw: RawConfig, options: { dir?: string; file?: string } = {}): Promise<Running> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tokenwatch-reload-'));
  const file = options.file ?? join(dir, 'config.yaml');
  if (!options.file) writeFileSync(file, stringify(raw));
  const logs: Array<Record<string, unknown>> = [];
  const sink = logSink(logs);
  const text = await readConfigText(file);
  const config = parseConfigText(text, file, {});
  const sidecar = await startSidecar(config, createLogger(config.logLevel, sink), { env: {} });
  await Promise.all(sidecar.issuers.map((issuer) => issuer.keys.refresh()));
  const reloader = new ConfigReloader(sidecar, createLogger(config.logLevel, sink), { file, loadedText: text, env: {}, settleMs: 20, pollIntervalMs: 60_000 });
  reloader.start();
  cleanups.push(async () => {
    reloader.stop();
    await sidecar.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    sidecar,
    reloader,
    file,
    logs,
    metric: async (name, labels) => sampleValue(await (await fetch(`${sidecar.adminUrl}/metrics`)).text(), name, labels),
    write: (next) => writeFileSync(file, stringify(next)),
  };
}

async function token(scope = 'read') {
  return orders().sign({ aud: 'orders-api', sub: 'u', scope });
}

async function status(running: Running, path: string, bearerToken?: string): Promise<number> {
  const headers: Record<string, string> = bearerToken ? { authorization: `Bearer ${bearerToken}` } : {};
  const response = await fetch(`${running.sidecar.dataPlaneUrl}${path}`, { headers });
  await response.arrayBuffer();
  return response.status;
}

describe('configuration reload', () => {
  test('an edited file is put in force without a restart, and counted as a successful reload', async () => {
    const running = await startFromFile(baseConfig());
    expect(await status(running, '/health')).toBe(403);
    const before = await running.metric('config_last_reload_success_timestamp_seconds');
    running.write({ ...baseConfig(), routes: [...(baseConfig().routes as unknown[]), { path: '/health', public: true }] });
    await eventually(async () => expect(await status(running, '/health')).toBe(200), 10_000);
    expect(await running.metric('config_reload_total', { result: 'success' })).toBe(1);
    expect(await running.metric('config_last_reload_success_timestamp_seconds')).toBeGreaterThanOrEqual(before);
    expect(running.logs.find((line) => line.event === 'config_reloaded')).toMatchObject({ trigger: 'file', changed: ['routes'] });
  });

  test("Kubernetes' ConfigMap update (a new ..data symlink renamed over the old one) reloads", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-configmap-'));
    const mount = (version: string, raw: RawConfig) => {
      mkdirSync(join(dir, version));
      writeFileSync(join(dir, version, 'config.yaml'), stringify(raw));
    };
    mount('..2026_01_01_00_00_00.000000001', baseConfig());
    symlinkSync('..2026_01_01_00_00_00.000000001', join(dir, '..data'));
    symlinkSync('..data/config.yaml', join(dir, 'config.yaml'));
    const running = await startFromFile(baseConfig(), { dir, file: join(dir, 'config.yaml') });
    expect(await status(running, '/health')).toBe(403);

    // What kubelet's atomic writer does: write the new version, point ..data_tmp at it, rename it over ..data.
    mount('..2026_01_01_00_01_00.000000002', { ...baseConfig(), routes: [{ path: '/health', public: true }] });
    symlinkSync('..2026_01_01_00_01_00.000000002', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_01_01_00_00_00.000000001'), { recursive: true });

    await eventually(async () => expect(await status(running, '/health')).toBe(200), 10_000);
    expect(await running.metric('config_reload_total', { result: 'success' })).toBe(1);
  });

  test('an invalid file is refused with every problem logged, and the running configuration keeps serving', async () => {
    const running = await startFromFile(baseConfig());
    const valid = await token();
    running.write({ ...baseConfig(), issuers: [{ issuer: 'not a url', audiences: [] }], routes: [{ path: 'no-slash' }] });
    await eventually(async () => expect(await running.metric('config_reload_total', { result: 'invalid' })).toBe(1), 10_000);
    const failure = running.logs.find((line) => line.event === 'config_reload_failed') as { problems: Array<{ path: string }>; msg: string };
    expect(failure.problems.map((problem) => problem.path)).toEqual(expect.arrayContaining(['issuers[0].issuer', 'issuers[0].audiences', 'routes[0].path']));
    expect(failure.msg).toContain('the running configuration keeps serving');
    expect(await status(running, '/api/orders', valid)).toBe(200);
    expect(await running.metric('config_reload_total', { result: 'success' })).toBe(0);
  });

  test('a change of a listener address is refused with that reason, and nothing of the file is applied', async () => {
    const running = await startFromFile(baseConfig());
    running.write({ ...baseConfig(), listen: '127.0.0.1:1', routes: [{ path: '/health', public: true }] });
    await eventually(async () => expect(await running.metric('config_reload_total', { result: 'refused' })).toBe(1), 10_000);
    const refusal = running.logs.find((line) => line.event === 'config_reload_refused') as { reasons: string[] };
    expect(refusal.reasons).toEqual([expect.stringContaining('listen: listener addresses cannot change while the sidecar runs')]);
    expect(await status(running, '/health')).toBe(403);
  });

  test('a change of the anomaly section is refused with that reason: the detectors are built at start-up', async () => {
    const running = await startFromFile(baseConfig());
    running.write({ ...baseConfig(), anomaly: { enabled: true, alertmanager: { urls: ['http://127.0.0.1:9'] } } });
    await eventually(async () => expect(await running.metric('config_reload_total', { result: 'refused' })).toBe(1), 10_000);
    const refusal = running.logs.find((line) => line.event === 'config_reload_refused') as { reasons: string[] };
    expect(refusal.reasons).toEqual([expect.stringContaining('anomaly: the detectors and their Alertmanager client are built at start-up')]);
  });

  test('issuers that did not change keep their keys and cached tokens: only the changed issuer is fetched again', async () => {
    const running = await startFromFile(baseConfig());
    const valid = await token();
    expect(await status(running, '/api/orders', valid)).toBe(200);
    const ordersStore = running.sidecar.issuers[0]!.keys;
    const ordersFetches = orders().fetchCount();
    const billingFetches = billing().fetchCount();

    const changed = baseConfig();
    changed.issuers = [{ issuer: orders().issuer, audiences: ['orders-api'] }, { issuer: billing().issuer, audiences: ['billing-api', 'invoices-api'] }];
    running.write(changed);
    await eventually(async () => expect(await running.metric('config_reload_total', { result: 'success' })).toBe(1), 10_000);

    expect(running.sidecar.issuers[0]!.keys).toBe(ordersStore);
    expect(orders().fetchCount()).toBe(ordersFetches);
    expect(billing().fetchCount()).toBeGreaterThan(billingFetches);
    const hits = await running.metric('token_cache_hits_total');
    expect(await status(running, '/api/orders', valid)).toBe(200);
    expect(await running.metric('token_cache_hits_total')).toBe(hits + 1);
  });

  test('a changed idpEvents list restarts the followers on the new files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-reload-events-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const [before, after] = [join(dir, 'before.jsonl'), join(dir, 'after.jsonl')];
    writeFileSync(before, '');
    writeFileSync(after, '');
    // From the beginning: the reload is counted before the new follower has opened its file, and a line appended in
    // between would otherwise be skipped as history.
    const events = (path: string, issuer: string) => ({ mode: 'events', admin: '127.0.0.1:0', idpEvents: [{ path, format: 'jsonl', issuer, fromBeginning: true }] });
    const running = await startFromFile(events(before, 'https://before.example.com'));
    running.write(events(after, 'https://after.example.com'));
    await eventually(async () => expect(await running.metric('config_reload_total', { result: 'success' })).toBe(1), 10_000);
    appendFileSync(after, `${JSON.stringify({ event: 'token_issued', client_id: 'orders-service', grant_type: 'client_credentials' })}\n`);
    await eventually(async () => expect(await running.metric('token_issuance_total', { issuer: 'https://after.example.com' })).toBe(1), 10_000);
  });

  test('SIGHUP reloads the file the process was started with', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-sighup-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, stringify({ ...baseConfig(), logLevel: 'info' }));
    const cli = runCli(['run', '--config', file]);
    cleanups.push(async () => {
      cli.child.kill('SIGTERM');
      await cli.exited;
    });
    const [, admin] = (await cli.waitForOutput(/"admin":"(http:\/\/[^"]+)"/)) as unknown as [string, string];
    cli.child.kill('SIGHUP');
    await cli.waitForOutput(/"event":"config_reloaded","trigger":"signal"/);
    expect(sampleValue(await (await fetch(`${admin}/metrics`)).text(), 'config_reload_total', { result: 'success' })).toBe(1);
  });
});

describe('a reload in the middle of traffic', () => {
  for (const mode of ['proxy', 'authz'] as const) {
    test(`loses no request in ${mode} mode`, async () => {
      const running = await startFromFile(baseConfig(mode));
      const valid = await token();
      const dispatcher = new Agent({ connections: 8, keepAliveTimeout: 30_000 });
      cleanups.push(() => dispatcher.close());
      const headers = mode === 'authz' ? { authorization: `Bearer ${valid}`, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/api/orders' } : { authorization: `Bearer ${valid}` };
      const statuses = new Map<number | string, number>();
      let reloaded = false;
      let afterReload = 0;
      const TOTAL = 2000;
      let sent = 0;
      const worker = async () => {
        while (sent < TOTAL) {
          sent += 1;
          let outcome: number | string;
          try {
            const response = await dispatcher.request({ origin: running.sidecar.dataPlaneUrl, path: '/api/orders', method: 'GET', headers });
            await response.body.dump();
            outcome = response.statusCode;
          } catch (error) {
            outcome = (error as Error).message;
          }
          statuses.set(outcome, (statuses.get(outcome) ?? 0) + 1);
          if (reloaded) afterReload += 1;
        }
      };
      const traffic = Promise.all(Array.from({ length: 8 }, worker));
      await eventually(() => sent >= TOTAL / 4, 30_000, 5);
      // Every key but the listeners changes: a new issuer set, new routes, new limits and cache.
      const next = baseConfig(mode);
      next.routes = [{ path: '/api/**', scopes: ['read'] }, { path: '/public/**', public: true }, { path: '/health', public: true }];
      next.issuers = [{ issuer: orders().issuer, audiences: ['orders-api'] }];
      next.tokenCache = { maxEntries: 500 };
      running.write(next);
      await eventually(async () => (await running.metric('config_reload_total', { result: 'success' })) === 1, 30_000);
      reloaded = true;
      await traffic;
      expect(Object.fromEntries(statuses)).toEqual({ 200: TOTAL });
      expect(afterReload).toBeGreaterThan(0);
    }, 60_000);
  }
});
