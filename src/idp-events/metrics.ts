import { Counter, Gauge, type Registry } from 'prom-client';

/** Results of idp_event_lines_total, in this order (see ParseResult in event.ts; unreadable lines count as malformed). */
export const LINE_RESULTS = ['parsed', 'ignored', 'malformed'] as const;

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
      name: 'token_issuance_total',
      help: 'Tokens minted by the IdP (one per grant), by grant type and client, from its event log.',
      labelNames: ['issuer', 'grant_type', 'client_id'] as const,
      registers,
    }),
    oauthErrors: new Counter({
      name: 'oauth_error_total',
      help: 'OAuth/OIDC errors in the IdP event log, by error code and client.',
      labelNames: ['issuer', 'error', 'client_id'] as const,
      registers,
    }),
    activeSessions: new Gauge({
      name: 'active_sessions',
      help: 'Estimated active sessions: distinct sessions with activity within the idle timeout, minus logouts.',
      labelNames: ['issuer'] as const,
      registers,
      collect() {
        const now = Date.now();
        for (const [issuer, count] of sessionCounts) this.set({ issuer }, count(now));
      },
    }),
    lines: new Counter({
      name: 'idp_event_lines_total',
      help: 'Lines read from IdP event log files, by result (parsed, ignored, malformed).',
      labelNames: ['file', 'result'] as const,
      registers,
    }),
    lastEventTimestamp: new Gauge({
      name: 'idp_event_last_timestamp_seconds',
      help: 'Unix time of the newest IdP event read (its own time when the line has one, else when it was read).',
      labelNames: ['issuer'] as const,
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
