/** What the detectors find, in one shape: the alerting side turns it into an Alertmanager alert. */

export const DETECTORS = ['issuance_spike', 'failure_burst', 'idp_unreachable', 'refresh_token_reuse'] as const;
export type DetectorName = (typeof DETECTORS)[number];

/** The alert each detector raises. */
export const ALERT_NAMES: Readonly<Record<DetectorName, string>> = {
  issuance_spike: 'TokenIssuanceAnomaly',
  failure_burst: 'ValidationFailureAnomaly',
  idp_unreachable: 'IdPUnreachable',
  refresh_token_reuse: 'RefreshTokenReuse',
};

/** One series found anomalous at one step. */
export interface Finding {
  /** Stable identity of the series across steps (its labels, joined). */
  readonly key: string;
  readonly detector: DetectorName;
  readonly severity: string;
  /** What the anomaly is about: `issuer` plus `client_id` and `grant_type`, or `reason`. */
  readonly labels: Readonly<Record<string, string>>;
  /** The observed value, the baseline it is judged against, and how far apart they are. */
  readonly observed: string;
  readonly baseline: string;
  readonly score: number;
  readonly summary: string;
  readonly description: string;
}

/** A finding with the time its series first became anomalous: the same across steps, as Alertmanager expects. */
export interface Anomaly extends Finding {
  readonly startsAtMs: number;
}

export interface Detector {
  readonly name: DetectorName;
  /** Folds what was observed since the last step and reports every series anomalous now. */
  step(nowMs: number, report: (finding: Finding) => void): void;
  /** The highest score of the last step (0 when nothing was scored). */
  readonly maxScore: number;
}

/** Rates in annotations: a person reads them, so a few significant digits and a unit. */
export function perSecond(rate: number): string {
  return `${Number(rate.toPrecision(3))}/s`;
}
