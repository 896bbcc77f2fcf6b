import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { IdpEventSourceConfig } from '../config/idp-events.js';
import { IdpEventsError } from './errors.js';
import { FileFollower, type FollowOptions } from './follow.js';
import { PARSERS } from './formats/index.js';
import { IssuerRecorder } from './issuance.js';
import { idpEventMetrics } from './metrics.js';
import type { IdpEventObserver } from './observer.js';
import { eventLineSink } from './source.js';

export { idpEventSourceSchema, idpEventSourcesSchema, type IdpEventSourceConfig } from '../config/idp-events.js';
export { IdpEventsError } from './errors.js';
export { idpEventMetrics, type IdpEventMetrics } from './metrics.js';
export type { IdpEventObserver } from './observer.js';
export type { IdpEvent } from './event.js';
export { OIDC_PROVIDER_EVENTS, oidcProviderEventLine } from './formats/oidc-provider.js';

export interface IdpEventFollowerDeps {
  registry: Registry;
  logger: Logger;
  /** client_id label values kept per issuer before the rest count as `other`. Default 50. */
  clientIdTopN?: number;
  /** Sees every parsed event after it is counted (anomaly detection). */
  observer?: IdpEventObserver | undefined;
  /** Tuning for tests and the bench; the defaults (follow.ts FOLLOW_DEFAULTS) suit production. */
  follow?: Pick<FollowOptions, 'pollIntervalMs' | 'maxLineBytes' | 'retiredFileGraceMs'>;
}

export interface IdpEventFollowers {
  stop(): Promise<void>;
  /** Resolves once every line written before the call has been counted (tests, bench). */
  settle(): Promise<void>;
}

/**
 * Follows every configured IdP event file and keeps the IdP event metrics on deps.registry. Returns at once;
 * files are opened in the background (a missing file is waited for). Sources sharing an issuer share one
 * client_id cap and one session estimate (with the longest of their idle timeouts).
 */
export function startIdpEventFollowers(sources: IdpEventSourceConfig[], deps: IdpEventFollowerDeps): IdpEventFollowers {
  rejectDuplicatePaths(sources);
  const metrics = idpEventMetrics(deps.registry);
  const logger = deps.logger.child({ component: 'idp-events' });

  const recorders = new Map<string, IssuerRecorder>();
  for (const [issuer, idleTimeoutMs] of longestIdleTimeoutByIssuer(sources)) {
    recorders.set(issuer, new IssuerRecorder(issuer, metrics, { clientIdTopN: deps.clientIdTopN, sessionIdleTimeoutMs: idleTimeoutMs, observer: deps.observer }));
  }

  const followers = sources.map((source) => {
    const sink = eventLineSink(source.path, PARSERS[source.format], recorders.get(source.issuer)!, metrics);
    const follower = new FileFollower({ ...deps.follow, path: source.path, fromBeginning: source.fromBeginning, sink, logger });
    follower.start();
    return follower;
  });

  return {
    async stop() {
      await Promise.all(followers.map((follower) => follower.stop()));
      for (const recorder of recorders.values()) recorder.close();
    },
    async settle() {
      await Promise.all(followers.map((follower) => follower.settle()));
    },
  };
}

function longestIdleTimeoutByIssuer(sources: readonly IdpEventSourceConfig[]): Map<string, number> {
  const byIssuer = new Map<string, number>();
  for (const { issuer, sessionIdleTimeout } of sources) {
    byIssuer.set(issuer, Math.max(byIssuer.get(issuer) ?? 0, sessionIdleTimeout));
  }
  return byIssuer;
}

function rejectDuplicatePaths(sources: readonly IdpEventSourceConfig[]): void {
  const seen = new Set<string>();
  for (const { path } of sources) {
    const absolute = resolve(path);
    if (seen.has(absolute)) throw new IdpEventsError('ERR_IDP_EVENTS_DUPLICATE_PATH', path, 'is followed twice in idpEvents');
    seen.add(absolute);
  }
}
