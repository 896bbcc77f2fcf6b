import { Writable } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { startSidecar, type Sidecar } from '../../src/main/sidecar.js';
import { createLogger } from '../../src/logging/logger.js';
import { recordSidecarOutput } from './secret-audit.js';

export interface TestSidecar extends Sidecar {
  /** Log lines of this sidecar (parsed JSON). */
  logs: Array<Record<string, unknown>>;
  /** GET/POST... against the data plane with the given headers. */
  request(path: string, init?: RequestInit): Promise<Response>;
  metricsText(): Promise<string>;
}

/** A log destination that parses each line into `logs`, after the suite-wide secrets audit has seen it. */
export function logSink(logs: Array<Record<string, unknown>>): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        recordSidecarOutput(line);
        logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
}

/**
 * Starts tokenwatch on ephemeral loopback ports with the given configuration (YAML keys, unparsed); `env` is the
 * environment it reads (OTEL_*), process.env by default.
 */
export async function startTestSidecar(raw: Record<string, unknown>, env?: NodeJS.ProcessEnv): Promise<TestSidecar> {
  const config: Config = validateConfig({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', logLevel: 'info', ...raw }, 'test');
  const logs: Array<Record<string, unknown>> = [];
  const sidecar = await startSidecar(config, createLogger(config.logLevel, logSink(logs)), env === undefined ? {} : { env });
  await Promise.all(sidecar.issuers.map((issuer) => issuer.keys.refresh()));
  return Object.assign(sidecar, {
    logs,
    request: (path: string, init?: RequestInit) => fetch(`${sidecar.dataPlaneUrl}${path}`, init),
    metricsText: async () => (await fetch(`${sidecar.adminUrl}/metrics`)).text(),
  });
}

/** beforeAll/afterAll wrapper; the getter returns the running sidecar. */
export function useTestSidecar(raw: () => Record<string, unknown>): () => TestSidecar {
  let sidecar: TestSidecar | undefined;
  beforeAll(async () => {
    sidecar = await startTestSidecar(raw());
  });
  afterAll(async () => {
    await sidecar?.shutdown();
  });
  return () => {
    if (!sidecar) throw new Error('sidecar not started');
    return sidecar;
  };
}

export function bearer(token: string): RequestInit {
  return { headers: { authorization: `Bearer ${token}` } };
}

/** Value of one sample in a Prometheus text exposition, or 0 when absent. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const labelText = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    const matches = Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`));
    if (matches) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}
