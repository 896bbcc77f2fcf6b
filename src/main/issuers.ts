import { isDeepStrictEqual } from 'node:util';
import type { KeyStoreObserver } from '../auth/keys.js';
import { TrustedIssuer } from '../auth/trusted-issuer.js';
import type { IssuerConfig } from '../config/schema.js';

export interface IssuerChange {
  /** The issuers of the new configuration, in its order. */
  readonly issuers: readonly TrustedIssuer[];
  /** Made for this configuration: their key stores have not fetched yet. */
  readonly added: readonly TrustedIssuer[];
  /** Running issuers the new configuration drops or changes: their key stores are to stop. */
  readonly retired: readonly TrustedIssuer[];
}

/**
 * The issuers of a configuration. A running issuer whose configuration is unchanged is kept as it is, with its
 * key store: its keys, its refresh schedule and the verified tokens cached for it survive a reload, and nothing
 * is fetched again.
 */
export function trustIssuers(configs: readonly IssuerConfig[], running: readonly TrustedIssuer[], observer: KeyStoreObserver): IssuerChange {
  const byName = new Map(running.map((issuer) => [issuer.issuer, issuer]));
  const added: TrustedIssuer[] = [];
  const issuers = configs.map((config) => {
    const current = byName.get(config.issuer);
    if (current && isDeepStrictEqual(current.config, config)) return current;
    const made = new TrustedIssuer(config, observer);
    added.push(made);
    return made;
  });
  const kept = new Set(issuers);
  return { issuers, added, retired: running.filter((issuer) => !kept.has(issuer)) };
}
