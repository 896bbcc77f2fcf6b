import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { eventually } from './eventually.js';
import { requireTool } from './tools.js';

export interface ScrapeTarget {
  /** host:port of a /metrics endpoint on loopback. */
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PrometheusRule {
  name: string;
  type: 'recording' | 'alerting';
  health: string;
  lastError?: string;
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

export interface PrometheusExemplars {
  seriesLabels: Record<string, string>;
  exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }>;
}

export interface PrometheusTarget {
  labels: Record<string, string>;
  health: string;
  lastError: string;
}

export interface RunningPrometheus {
  readonly url: string;
  /** An instant query; rejects on an error answer. */
  query(expr: string): Promise<unknown[]>;
  /** label_values(selector, label) as Grafana runs it. */
  labelValues(label: string, selector: string): Promise<string[]>;
  rules(): Promise<PrometheusRule[]>;
  alerts(): Promise<PrometheusAlert[]>;
  /** The exemplars stored for the series of `expr` in the last 10 minutes (needs the exemplar-storage feature). */
  exemplars(expr: string): Promise<PrometheusExemplars[]>;
  /** The scrape targets and the health of their last scrape. */
  targets(): Promise<PrometheusTarget[]>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function apiGet<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? response.status}`);
  return body.data;
}

/** Stops a child with SIGTERM, then SIGKILL if it has not exited within the bound. */
async function terminate(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Debian's Prometheus on loopback with a throw-away TSDB: scrapes `targets` as job `tokenwatch` and evaluates
 * `ruleFiles` every `intervalSeconds`, with the `--enable-feature` flags named in `features`.
 */
export async function startPrometheus(options: {
  targets: readonly ScrapeTarget[];
  ruleFiles: readonly string[];
  intervalSeconds: number;
  features?: readonly string[];
}): Promise<RunningPrometheus> {
  const binary = requireTool('prometheus', 'prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-prometheus-'));
  const interval = `${options.intervalSeconds}s`;
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles,
    scrape_configs: [{ job_name: 'tokenwatch', static_configs: options.targets.map((target) => ({ targets: [target.address], labels: target.labels })) }],
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child = spawn(
    binary,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...(options.features ?? []).map((feature) => `--enable-feature=${feature}`)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const stop = async () => {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${output.join('')}`);
      return (await fetch(`${url}/-/ready`)).ok || false;
    }, 20_000, 100);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    query: async (expr) => (await apiGet<{ result: unknown[] }>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    labelValues: (label, selector) => apiGet<string[]>(`${url}/api/v1/label/${label}/values?match[]=${encodeURIComponent(selector)}`),
    rules: async () => (await apiGet<{ groups: Array<{ rules: PrometheusRule[] }> }>(`${url}/api/v1/rules`)).groups.flatMap((group) => group.rules),
    alerts: async () => (await apiGet<{ alerts: PrometheusAlert[] }>(`${url}/api/v1/alerts`)).alerts,
    exemplars: (expr) => {
      const now = Date.now() / 1000;
      return apiGet<PrometheusExemplars[]>(`${url}/api/v1/query_exemplars?query=${encodeURIComponent(expr)}&start=${now - 600}&end=${now + 60}`);
    },
    targets: async () => (await apiGet<{ activeTargets: PrometheusTarget[] }>(`${url}/api/v1/targets?state=active`)).activeTargets,
    stop,
  };
}
