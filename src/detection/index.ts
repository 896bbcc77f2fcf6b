import type { IdpEndpoint } from '../auth/keys.js';
import type { IdpFetchResult } from '../auth/idp-fetch.js';
import type { AnomalyConfig } from '../config/anomaly.js';
import type { IdpEvent, IdpEventObserver } from '../idp-events/index.js';
import type { GateObserver } from '../server/gate/ports.js';
import type { Detector } from './anomaly.js';
import { AnomalyDetection, type AnomalyObserver } from './anomaly-detection.js';
import { FailureBurstDetector } from './failure-burst.js';
import { IdpUnreachableDetector } from './idp-unreachable.js';
import { IssuanceSpikeDetector } from './issuance-spike.js';
import { RefreshTokenReuseDetector } from './refresh-token-reuse.js';

export { AnomalyDetection, type AnomalyObserver, type DetectorStatus } from './anomaly-detection.js';
export { ALERT_NAMES, DETECTORS, type Anomaly, type DetectorName } from './anomaly.js';

/** Detectors fold and score once a second: a 20× spike is seen within a step of crossing its threshold. */
export const STEP_MS = 1000;

export interface Detection {
  readonly engine: AnomalyDetection;
  /** Hang off the gate's port: failures by issuer and reason. Undefined when that detector is off. */
  readonly gate: GateObserver | undefined;
  /** The key store observer's `fetched`, for IdP reachability. */
  readonly idpFetched: ((issuer: string, endpoint: IdpEndpoint, result: IdpFetchResult) => void) | undefined;
  /** Given to the IdP event followers: issuance and refresh-token reuse. */
  readonly idpEvents: IdpEventObserver | undefined;
}

/**
 * The detectors the configuration turns on, and the engine that steps them. `validationIssuers` are the
 * configured token issuers, `eventIssuers` those named in idpEvents: together they bound every series.
 */
export function createDetection(
  config: AnomalyConfig,
  scope: { validationIssuers: readonly string[]; eventIssuers: readonly string[] },
  observer: AnomalyObserver,
  now: () => number = Date.now,
): Detection {
  const detectors: Detector[] = [];
  const rateOptions = (section: AnomalyConfig['issuanceSpike']) => ({
    factor: section.factor,
    minRate: section.minRate,
    windowMs: section.window,
    baselineMs: section.baseline,
    stepMs: STEP_MS,
    warmupMs: config.warmup,
    severity: section.severity,
  });

  let gate: FailureBurstDetector | undefined;
  if (config.failureBurst.enabled && scope.validationIssuers.length > 0) {
    gate = new FailureBurstDetector({ ...rateOptions(config.failureBurst), reasons: config.failureBurst.reasons }, scope.validationIssuers);
    detectors.push(gate);
  }
  let idp: IdpUnreachableDetector | undefined;
  if (config.idpUnreachable.enabled && scope.validationIssuers.length > 0) {
    idp = new IdpUnreachableDetector({ graceMs: config.idpUnreachable.grace, severity: config.idpUnreachable.severity }, scope.validationIssuers, now);
    detectors.push(idp);
  }
  const eventObservers: IdpEventObserver[] = [];
  if (config.issuanceSpike.enabled && scope.eventIssuers.length > 0) {
    const issuance = new IssuanceSpikeDetector({ ...rateOptions(config.issuanceSpike), trackedClients: config.trackedClients }, scope.eventIssuers);
    detectors.push(issuance);
    eventObservers.push(issuance);
  }
  if (config.refreshTokenReuse.enabled && scope.eventIssuers.length > 0) {
    const { hold, rememberedTokens, severity } = config.refreshTokenReuse;
    const reuse = new RefreshTokenReuseDetector({ holdMs: hold, rememberedTokens, trackedClients: config.trackedClients, severity }, scope.eventIssuers, now);
    detectors.push(reuse);
    eventObservers.push(reuse);
  }

  return {
    engine: new AnomalyDetection(detectors, observer, STEP_MS),
    gate,
    idpFetched: idp && ((issuer, endpoint, result) => idp.fetched(issuer, endpoint, result)),
    idpEvents: eventObservers.length === 0 ? undefined : fanOutEvents(eventObservers),
  };
}

function fanOutEvents(observers: readonly IdpEventObserver[]): IdpEventObserver {
  if (observers.length === 1) return observers[0]!;
  return {
    observed(issuer: string, event: IdpEvent) {
      for (const observer of observers) observer.observed(issuer, event);
    },
  };
}
