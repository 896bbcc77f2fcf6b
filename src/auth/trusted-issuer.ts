import type { IssuerConfig } from '../config/schema.js';
import { IssuerKeyStore, type KeyStoreObserver } from './keys.js';

/** One configured issuer with everything the verifier needs precomputed at start-up. */
export class TrustedIssuer {
  readonly issuer: string;
  readonly keys: IssuerKeyStore;
  readonly audiences: ReadonlySet<string>;
  readonly algorithms: ReadonlySet<string>;
  readonly clockToleranceSeconds: number;
  readonly maxLifetimeSeconds: number;
  /** Normalised RFC 9068 `typ` (lower case, without `application/`), when required. */
  readonly requiredTyp: string | undefined;
  readonly requiredClaims: readonly string[];

  constructor(readonly config: IssuerConfig, observer?: KeyStoreObserver, now?: () => number) {
    this.issuer = config.issuer;
    this.keys = new IssuerKeyStore(config, observer, now);
    this.audiences = new Set(config.audiences);
    this.algorithms = new Set(config.algorithms);
    this.clockToleranceSeconds = config.clockTolerance / 1000;
    this.maxLifetimeSeconds = config.maxTokenLifetime / 1000;
    this.requiredTyp = config.requireTyp === undefined ? undefined : normalizeTyp(config.requireTyp);
    this.requiredClaims = config.requiredClaims;
  }
}

/** RFC 9068 section 2.1: `at+jwt` and `application/at+jwt` are the same media type, compared case-insensitively. */
export function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}
