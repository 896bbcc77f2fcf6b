import type { IdpEvent } from './event.js';

/** The port of the IdP event followers: each parsed event of an issuer, as it is read (anomaly detection). */
export interface IdpEventObserver {
  observed(issuer: string, event: IdpEvent): void;
}
