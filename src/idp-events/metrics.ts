import { Counter, Gauge, type Registry } from 'prom-client';
import { METRICS, metricOptions } from '../observability/catalog/metrics.js';

/**
 * The IdP event metrics, defined once. Labels are bounded: `issuer` and `file` come from the configuration,
 * `grant_type` and `error` from fixed sets (grant-types.ts, error-codes.ts), `client_id` is capped per issuer
 * (client-ids.ts).
 */
export interface IdpEventMetrics {
  /** Who is minting credentials, how fast. */
  readonly tokenIssuance: Counter<'issuer' | 'grant_type' | 'client_id'>;
  /** Which OAuth errors the IdP answers with, for which clients. */
  readonly oauthErrors: Counter<'issuer' | 'error' | 'client_id'>;
  /** How often users log out, from which clients. */
  readonly logouts: Counter<'issuer' | 'client_id'>;
  /** How often tokens and grants are revoked before they expire, and for which clients. */
  readonly tokenRevocations: Counter<'issuer' | 'client_id'>;
  /** How many sessions are in use (set at scrape time from the estimates registered with trackSessions). */
  readonly activeSessions: Gauge<'issuer'>;
  /** Is the follower reading the file, and is the file what we think it is. */
  readonly lines: Counter<'file' | 'result'>;
  /** Is the IdP still writing events. */
  readonly lastEventTimestamp: Gauge<'issuer'>;
  /** Makes `count` the source of active_sessions{issuer}; returns the function that stops it. */
  trackSessions(issuer: string, count: (nowMs: number) => number): () => void;
}

const byRegistry = new WeakMap<Registry, IdpEventMetrics>();

/**
 * The metrics on `registry`, created on first use. Idempotent per registry because prom-client refuses a second
 * registration of a name, and followers may be started again in one process (tests, a configuration reload).
 */
export function idpEventMetrics(registry: Registry): IdpEventMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const created = createMetrics(registry);
  byRegistry.set(registry, created);
  return created;
}

function createMetrics(registry: Registry): IdpEventMetrics {
  const sessionCounts = new Map<string, (nowMs: number) => number>();
  const registers = [registry];
  return {
    tokenIssuance: new Counter({
      ...metricOptions(METRICS.tokenIssuance),
      registers,
    }),
    oauthErrors: new Counter({
      ...metricOptions(METRICS.oauthErrors),
      registers,
    }),
    logouts: new Counter({
      ...metricOptions(METRICS.oauthLogouts),
      registers,
    }),
    tokenRevocations: new Counter({
      ...metricOptions(METRICS.oauthTokenRevocations),
      registers,
    }),
    activeSessions: new Gauge({
      ...metricOptions(METRICS.activeSessions),
      registers,
      collect() {
        const now = Date.now();
        for (const [issuer, count] of sessionCounts) this.set({ issuer }, count(now));
      },
    }),
    lines: new Counter({
      ...metricOptions(METRICS.idpEventLines),
      registers,
    }),
    lastEventTimestamp: new Gauge({
      ...metricOptions(METRICS.idpEventLastTimestamp),
      registers,
    }),
    trackSessions(issuer, count) {
      sessionCounts.set(issuer, count);
      return () => {
        if (sessionCounts.get(issuer) === count) sessionCounts.delete(issuer);
      };
    },
  };
}
