import type { IdpEndpoint, KeyStoreObserver } from '../auth/keys.js';
import type { IdpFetchResult } from '../auth/idp-fetch.js';
import type { GateObserver, ValidationRecord } from '../server/gate/ports.js';
import type { Logger } from '../logging/logger.js';

/** Fans one validation out to every observer (metrics, audit log, spans). */
export function fanOutGate(observers: readonly GateObserver[]): GateObserver {
  if (observers.length === 1) return observers[0]!;
  return {
    validated(record: ValidationRecord) {
      for (const observer of observers) observer.validated(record);
    },
  };
}

/** The IdP-reachability detector's view of the key stores' fetches. */
export type FetchWatcher = (issuer: string, endpoint: IdpEndpoint, result: IdpFetchResult) => void;

/**
 * Key store events to metrics, to the operational log (fetch failures, rotations, throttled refetches) and, when
 * anomaly detection is on, fetch results to its IdP-reachability detector.
 */
export function keyStoreObserver(metrics: KeyStoreObserver, logger: Logger, fetchWatcher?: FetchWatcher): KeyStoreObserver {
  return {
    fetched(issuer: string, endpoint: IdpEndpoint, result: IdpFetchResult, seconds: number, message?: string) {
      metrics.fetched(issuer, endpoint, result, seconds, message);
      fetchWatcher?.(issuer, endpoint, result);
      if (result !== 'success') logger.warn({ event: 'idp_fetch_failed', issuer, endpoint, result, reason: message }, 'IdP fetch failed');
      else logger.debug({ event: 'idp_fetched', issuer, endpoint, seconds });
    },
    keysChanged(issuer: string, added: number, removed: number, total: number) {
      metrics.keysChanged(issuer, added, removed, total);
      logger.info({ event: 'jwks_keys_changed', issuer, added, removed, total }, 'JWKS keys changed');
    },
    refetchThrottled(issuer: string) {
      metrics.refetchThrottled(issuer);
    },
    keyLookup(issuer: string, found: boolean) {
      metrics.keyLookup(issuer, found);
    },
  };
}
