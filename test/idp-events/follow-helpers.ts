import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach } from 'vitest';
import { idpEventSourceSchema } from '../../src/config/idp-events.js';
import { type IdpEventFollowerDeps, type IdpEventFollowers, startIdpEventFollowers } from '../../src/idp-events/index.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads the Prometheus text exposition back into samples, the way a scrape would see them. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unexpected exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

export interface Following {
  dir: string;
  path: string;
  registry: Registry;
  followers: IdpEventFollowers;
  /** Every line written so far has been counted. */
  settle(): Promise<void>;
  samples(name: string): Promise<Sample[]>;
  /** The value of one series; 0 when it does not exist. */
  value(name: string, labels: Record<string, string>): Promise<number>;
  /** idp_event_lines_total of the followed file, by result. */
  lines(): Promise<{ parsed: number; ignored: number; malformed: number }>;
  close(): Promise<void>;
}

export interface FollowingOptions {
  format?: string;
  fromBeginning?: boolean;
  issuer?: string;
  sessionIdleTimeout?: string;
  deps?: Partial<IdpEventFollowerDeps>;
  /** Called with the path before the follower starts (to create the file, or not). */
  before?: (path: string) => void;
}

/** Starts followers on a file in a fresh temporary directory, with polling slow enough that tests drive reads. */
export function following(options: FollowingOptions = {}): Following {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-idp-events-'));
  const path = join(dir, 'events.log');
  options.before?.(path);
  const registry = new Registry();
  const source = idpEventSourceSchema.parse({
    path,
    format: options.format ?? 'jsonl',
    issuer: options.issuer ?? 'https://idp.example.com/realms/prod',
    fromBeginning: options.fromBeginning ?? false,
    sessionIdleTimeout: options.sessionIdleTimeout ?? '30m',
  });
  const followers = startIdpEventFollowers([source], {
    registry,
    logger: pino({ level: 'silent' }),
    follow: { pollIntervalMs: 60_000, retiredFileGraceMs: 60_000 },
    ...options.deps,
  });
  const samples = async (name: string) => parseExposition(await registry.metrics()).filter((sample) => sample.name === name);
  const value = async (name: string, labels: Record<string, string>) => {
    const found = (await samples(name)).find((sample) => Object.entries(labels).every(([key, v]) => sample.labels[key] === v));
    return found?.value ?? 0;
  };
  return {
    dir,
    path,
    registry,
    followers,
    settle: () => followers.settle(),
    samples,
    value,
    async lines() {
      const [parsed, ignored, malformed] = await Promise.all(
        (['parsed', 'ignored', 'malformed'] as const).map((result) => value('idp_event_lines_total', { file: path, result })),
      );
      return { parsed: parsed!, ignored: ignored!, malformed: malformed! };
    },
    async close() {
      await followers.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A `start` for the tests of one file: each test's followers are stopped and its directory removed after it. */
export function followingPerTest(): (options?: FollowingOptions) => Following {
  let current: Following | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return (options = {}) => (current = following(options));
}

export function issued(clientId: string, grantType = 'client_credentials', extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ event: 'token_issued', client_id: clientId, grant_type: grantType, token_type: 'access', ...extra })}\n`;
}

export function issuedLines(count: number, clientId = 'svc'): string {
  return Array.from({ length: count }, () => issued(clientId)).join('');
}
