import type { IdpEvent, IdpEventObserver } from '../idp-events/index.js';
import { ClientIdLabels } from '../idp-events/client-ids.js';
import type { Detector, Finding } from './anomaly.js';
import type { RateDetectorOptions } from './options.js';
import { RateWatch, stepWatches, type Describe } from './rate-watch.js';

/**
 * Token issuance per issuer, client and grant type, from the IdP's event log. Memory is bounded: the first
 * `trackedClients` clients of an issuer get series of their own, later ones share `other`; grant types are a fixed
 * set (idp-events/grant-types.ts) and issuers come from the configuration.
 */
export class IssuanceSpikeDetector implements Detector, IdpEventObserver {
  readonly name = 'issuance_spike';
  maxScore = 0;
  private readonly watches = new Map<string, RateWatch>();
  private readonly clients = new Map<string, ClientIdLabels>();

  constructor(
    private readonly options: RateDetectorOptions & { readonly trackedClients: number },
    issuers: readonly string[],
  ) {
    for (const issuer of issuers) this.clients.set(issuer, new ClientIdLabels(options.trackedClients));
  }

  observed(issuer: string, event: IdpEvent): void {
    if (event.outcome !== 'issued') return;
    const client = this.clients.get(issuer)?.label(event.clientId);
    if (client === undefined) return;
    const key = `${issuer}\n${client}\n${event.grantType}`;
    let watch = this.watches.get(key);
    if (watch === undefined) {
      watch = new RateWatch(key, { issuer, client_id: client, grant_type: event.grantType }, this.options);
      this.watches.set(key, watch);
    }
    watch.series.pending += 1;
  }

  step(_nowMs: number, report: (finding: Finding) => void): void {
    this.maxScore = stepWatches(this.watches.values(), this.name, this.options.severity, this.describe, report);
  }

  private readonly describe: Describe = ({ issuer, client_id: client, grant_type: grant }, { observed, baseline, score }) => ({
    summary: `Token issuance to ${client} (${grant}) at ${observed}, ${score.toFixed(0)}× its baseline`,
    description:
      `${issuer} issued tokens to client ${client} with grant ${grant} at ${observed} over the last ` +
      `${this.options.windowMs / 1000}s, against a usual ${baseline}.`,
  });
}
