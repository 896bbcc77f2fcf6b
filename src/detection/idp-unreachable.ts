import type { IdpEndpoint } from '../auth/keys.js';
import type { IdpFetchResult } from '../auth/idp-fetch.js';
import { IDP_ENDPOINTS } from '../observability/catalog/metrics.js';
import type { Detector, Finding } from './anomaly.js';

interface EndpointState {
  /** When the endpoint's current run of failed fetches began; undefined while it answers. */
  failingSinceMs: number | undefined;
  lastResult: IdpFetchResult;
}

/**
 * An issuer's discovery or JWKS endpoint failing every fetch for longer than `grace`. The key store keeps probing
 * while the IdP is down (with backoff), so the first failure starts the clock and the next success stops it.
 * Nothing to learn here, so no warmup: the grace is the baseline.
 */
export class IdpUnreachableDetector implements Detector {
  readonly name = 'idp_unreachable';
  maxScore = 0;
  private readonly issuers = new Map<string, Record<IdpEndpoint, EndpointState>>();

  constructor(
    private readonly options: { readonly graceMs: number; readonly severity: string },
    issuers: readonly string[],
    private readonly now: () => number,
  ) {
    for (const issuer of issuers) {
      this.issuers.set(issuer, {
        discovery: { failingSinceMs: undefined, lastResult: 'success' },
        jwks: { failingSinceMs: undefined, lastResult: 'success' },
      });
    }
  }

  /** The key store observer's `fetched`, for this detector. */
  fetched(issuer: string, endpoint: IdpEndpoint, result: IdpFetchResult): void {
    const state = this.issuers.get(issuer)?.[endpoint];
    if (state === undefined) return;
    state.lastResult = result;
    if (result === 'success') state.failingSinceMs = undefined;
    else state.failingSinceMs ??= this.now();
  }

  step(nowMs: number, report: (finding: Finding) => void): void {
    let max = 0;
    for (const [issuer, endpoints] of this.issuers) {
      for (const endpoint of IDP_ENDPOINTS) {
        const state = endpoints[endpoint];
        if (state.failingSinceMs === undefined) continue;
        const failingMs = Math.max(0, nowMs - state.failingSinceMs);
        const score = failingMs / this.options.graceMs;
        if (score > max) max = score;
        if (score < 1) continue;
        report({
          key: `${issuer}\n${endpoint}`,
          detector: this.name,
          severity: this.options.severity,
          labels: { issuer, endpoint },
          observed: `failing for ${Math.round(failingMs / 1000)}s (${state.lastResult})`,
          baseline: `grace ${this.options.graceMs / 1000}s`,
          score,
          summary: `The IdP's ${endpoint} endpoint has failed every fetch for ${Math.round(failingMs / 1000)}s`,
          description:
            `Fetches of ${endpoint} for ${issuer} have failed (last: ${state.lastResult}) since ` +
            `${new Date(state.failingSinceMs).toISOString()}. Validation runs on the cached keys until jwksMaxStale.`,
        });
      }
    }
    this.maxScore = max;
  }
}
