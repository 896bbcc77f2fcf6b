/** Label for events whose client_id is beyond the cap (or too long to be a label). */
export const OTHER_CLIENT = 'other';
/** Label for events that name no client. */
export const UNKNOWN_CLIENT = 'unknown';

export const DEFAULT_CLIENT_ID_TOP_N = 50;
/** A longer client_id is not a real client's: it goes to `other` instead of taking a slot. */
const MAX_CLIENT_ID_LENGTH = 128;

/**
 * Caps the client_id label of one issuer at N values plus `other` and `unknown`. The first N distinct clients
 * seen keep their own label for the life of the process; later ones are counted under `other`. A counter's
 * series cannot be relabelled, so "top N" by volume would mean dropping and recreating series (resetting them
 * for Prometheus); keeping the first N is stable, and on a busy IdP the first seen are the busiest.
 */
export class ClientIdLabels {
  private readonly labelled = new Set<string>();

  constructor(private readonly topN: number = DEFAULT_CLIENT_ID_TOP_N) {}

  label(clientId: string | undefined): string {
    if (clientId === undefined) return UNKNOWN_CLIENT;
    if (this.labelled.has(clientId)) return clientId;
    if (this.labelled.size >= this.topN || clientId.length > MAX_CLIENT_ID_LENGTH) return OTHER_CLIENT;
    this.labelled.add(clientId);
    return clientId;
  }
}
