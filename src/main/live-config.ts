import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/schema.js';

/**
 * Keys a running sidecar cannot change, each with the reason: they are bound to sockets opened at start-up.
 * Everything else (issuers, routes, claims, limits, the upstream, IdP event logs, log level...) reloads live.
 */
const FIXED_KEYS: ReadonlyArray<{ key: keyof Config; sub?: string; reason: string }> = [
  { key: 'mode', reason: 'the mode decides which listeners exist' },
  { key: 'listen', reason: 'listener addresses cannot change while the sidecar runs' },
  { key: 'admin', reason: 'listener addresses cannot change while the sidecar runs' },
  { key: 'limits', sub: 'headerBytes', reason: 'the data-plane listener was opened with this header limit' },
  { key: 'anomaly', reason: 'the detectors and their Alertmanager client are built at start-up' },
];

/** Why `next` cannot be put in force without a restart: one line per key, empty when it can. */
export function changesNeedingRestart(current: Config, next: Config): string[] {
  const reasons: string[] = [];
  for (const { key, sub, reason } of FIXED_KEYS) {
    const before: unknown = sub ? (current[key] as Record<string, unknown>)[sub] : current[key];
    const after: unknown = sub ? (next[key] as Record<string, unknown>)[sub] : next[key];
    if (!isDeepStrictEqual(before, after)) {
      reasons.push(`${sub ? `${key}.${sub}` : key}: ${reason}; restart to change it (running ${show(before)}, file says ${show(after)})`);
    }
  }
  return reasons;
}

function show(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'host' in value && 'port' in value) return `${String(value.host)}:${String(value.port)}`;
  return JSON.stringify(value);
}
