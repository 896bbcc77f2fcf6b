import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { close, listen } from './lifecycle.js';
import { eventually } from './eventually.js';
import { requireTool } from './tools.js';

/** The Alertmanager configuration tokenwatch ships: its route and inhibitions are what the tests run. */
export const SHIPPED_ROUTES = new URL('../../deploy/alertmanager/tokenwatch-routes.yaml', import.meta.url);

/** One notification as Alertmanager's webhook receiver posts it (version 4 of its payload). */
export interface WebhookNotification {
  readonly receivedAtMs: number;
  readonly status: 'firing' | 'resolved';
  readonly groupKey: string;
  readonly groupLabels: Record<string, string>;
  readonly alerts: ReadonlyArray<{ status: 'firing' | 'resolved'; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; generatorURL: string }>;
}

/** An alert as `GET /api/v2/alerts` lists it. */
export interface ListedAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly status: { state: string; inhibitedBy: string[] };
}

export interface AlertmanagerCluster {
  /** One URL per peer, each its own listener: what tokenwatch posts to. */
  readonly urls: readonly string[];
  /** Every notification the cluster sent to the test's webhook receiver. */
  readonly notifications: WebhookNotification[];
  /** Active alerts as one peer lists them. */
  alerts(peer: number): Promise<ListedAlert[]>;
  /** Posts alerts straight to one peer, as Prometheus would (a fleet-level rule's alert). */
  post(peer: number, alerts: unknown[]): Promise<void>;
  /** Kills every peer (SIGKILL: no goodbye to anyone), keeping their ports and storage. */
  stopAll(): Promise<void>;
  /** Starts every peer again on the same ports and storage. */
  startAll(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Two Debian `prometheus-alertmanager` peers clustered on loopback, loaded with the shipped routes (timings
 * shortened, the receiver pointed at a webhook server of the test's own).
 */
export async function startAlertmanagerCluster(timing: { groupWait: string; groupInterval: string; repeatInterval: string }): Promise<AlertmanagerCluster> {
  const binary = requireTool('prometheus-alertmanager', 'prometheus-alertmanager');
  const notifications: WebhookNotification[] = [];
  const webhook: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      notifications.push({ ...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<WebhookNotification, 'receivedAtMs'>), receivedAtMs: Date.now() });
      response.end();
    });
  });
  const webhookPort = await listen(webhook);

  const shipped = parse(readFileSync(SHIPPED_ROUTES, 'utf8')) as {
    route: { routes: Array<Record<string, unknown>> };
    receivers: Array<{ webhook_configs: Array<{ url: string }> }>;
  };
  const anomalyRoute = shipped.route.routes[0]!;
  Object.assign(anomalyRoute, { group_wait: timing.groupWait, group_interval: timing.groupInterval, repeat_interval: timing.repeatInterval });
  shipped.receivers[0]!.webhook_configs[0]!.url = `http://127.0.0.1:${webhookPort}/`;
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-alertmanager-'));
  const configPath = join(dir, 'alertmanager.yml');
  writeFileSync(configPath, stringify(shipped));

  const peers = await Promise.all([0, 1].map(async (index) => ({ index, web: await freePort(), cluster: await freePort(), storage: join(dir, `data-${index}`) })));
  const processes: Array<ChildProcess | undefined> = [undefined, undefined];
  const logs: string[] = ['', ''];

  async function startAll(): Promise<void> {
    for (const peer of peers) {
      const other = peers[1 - peer.index]!;
      const child = spawn(
        binary,
        [
          `--config.file=${configPath}`,
          `--storage.path=${peer.storage}`,
          `--web.listen-address=127.0.0.1:${peer.web}`,
          `--cluster.listen-address=127.0.0.1:${peer.cluster}`,
          `--cluster.advertise-address=127.0.0.1:${peer.cluster}`,
          `--cluster.peer=127.0.0.1:${other.cluster}`,
          '--cluster.gossip-interval=50ms',
          '--cluster.pushpull-interval=1s',
          '--cluster.peer-timeout=2s',
          '--cluster.settle-timeout=3s',
          '--cluster.reconnect-interval=1s',
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child.stderr!.on('data', (chunk: Buffer) => (logs[peer.index] = (logs[peer.index]! + chunk.toString('utf8')).slice(-20_000)));
      processes[peer.index] = child;
    }
    // Ready: both peers answer and each sees the other in the cluster.
    await eventually(
      async () => {
        for (const peer of peers) {
          const status = (await (await fetch(`http://127.0.0.1:${peer.web}/api/v2/status`)).json()) as { cluster: { peers: unknown[]; status: string } };
          if (status.cluster.peers.length !== 2 || status.cluster.status !== 'ready') return false;
        }
        return true;
      },
      30_000,
      100,
    ).catch((error: unknown) => {
      throw new Error(`Alertmanager cluster did not form: ${String(error)}\n${logs.join('\n---\n')}`);
    });
  }

  async function stopAll(): Promise<void> {
    await Promise.all(
      processes.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (!child || child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
  }

  await startAll();
  return {
    urls: peers.map((peer) => `http://127.0.0.1:${peer.web}`),
    notifications,
    async alerts(index) {
      return (await (await fetch(`http://127.0.0.1:${peers[index]!.web}/api/v2/alerts`)).json()) as ListedAlert[];
    },
    async post(index, alerts) {
      const response = await fetch(`http://127.0.0.1:${peers[index]!.web}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      if (!response.ok) throw new Error(`Alertmanager refused the alerts: ${response.status} ${await response.text()}`);
    },
    stopAll,
    startAll,
    async stop() {
      await stopAll();
      await close(webhook);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
