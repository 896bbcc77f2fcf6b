import { LRUCache } from 'lru-cache';
import type { IdpEvent, IdpEventObserver } from '../idp-events/index.js';
import { ClientIdLabels } from '../idp-events/client-ids.js';
import type { Detector, Finding } from './anomaly.js';

interface ReuseState {
  readonly labels: Readonly<Record<string, string>>;
  count: number;
  firstAtMs: number;
  lastAtMs: number;
}

/**
 * A refresh token used twice: with rotation, one of the two holders stole it (RFC 9700 §4.14.2). Seen either as
 * the IdP refusing a reused token (its reuse error) or as one refresh-token id presented by two refresh grants.
 * Ids are remembered in an LRU of `rememberedTokens` and never leave the process. The alert stays active `hold`
 * after the last reuse. No baseline: any reuse is worth a look, so no warmup either.
 */
export class RefreshTokenReuseDetector implements Detector, IdpEventObserver {
  readonly name = 'refresh_token_reuse';
  maxScore = 0;
  private readonly seen: LRUCache<string, true>;
  private readonly reuses = new Map<string, ReuseState>();
  private readonly clients = new Map<string, ClientIdLabels>();

  constructor(
    private readonly options: { readonly holdMs: number; readonly rememberedTokens: number; readonly trackedClients: number; readonly severity: string },
    issuers: readonly string[],
    private readonly now: () => number,
  ) {
    this.seen = new LRUCache({ max: options.rememberedTokens });
    for (const issuer of issuers) this.clients.set(issuer, new ClientIdLabels(options.trackedClients));
  }

  observed(issuer: string, event: IdpEvent): void {
    const clients = this.clients.get(issuer);
    if (clients === undefined) return;
    if (event.refreshTokenReused === true) {
      this.count(issuer, clients.label(event.clientId));
    } else if (event.outcome === 'issued' && event.refreshTokenId !== undefined) {
      const key = `${issuer}\n${event.refreshTokenId}`;
      if (this.seen.has(key)) this.count(issuer, clients.label(event.clientId));
      else this.seen.set(key, true);
    }
  }

  step(nowMs: number, report: (finding: Finding) => void): void {
    let max = 0;
    for (const [key, state] of this.reuses) {
      if (nowMs - state.lastAtMs > this.options.holdMs) {
        this.reuses.delete(key);
        continue;
      }
      if (state.count > max) max = state.count;
      const { issuer, client_id: client } = state.labels as Record<'issuer' | 'client_id', string>;
      report({
        key,
        detector: this.name,
        severity: this.options.severity,
        labels: state.labels,
        observed: `${state.count} reuse(s)`,
        baseline: '0',
        score: state.count,
        summary: `A refresh token of ${client} was used twice`,
        description:
          `${issuer} saw ${state.count} refresh-token reuse(s) by client ${client} since ` +
          `${new Date(state.firstAtMs).toISOString()}: with rotation, one of the two holders has a stolen token. ` +
          'Revoke the session or the client\'s grants at the IdP.',
      });
    }
    this.maxScore = max;
  }

  private count(issuer: string, client: string): void {
    const key = `${issuer}\n${client}`;
    const atMs = this.now();
    const state = this.reuses.get(key);
    if (state === undefined) this.reuses.set(key, { labels: { issuer, client_id: client }, count: 1, firstAtMs: atMs, lastAtMs: atMs });
    else {
      state.count += 1;
      state.lastAtMs = atMs;
    }
  }
}
