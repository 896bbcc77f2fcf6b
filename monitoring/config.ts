/**
 * Everything a team installing the rules and dashboards might tune, held once (kubernetes-mixin's `_config`): the
 * selector of tokenwatch's scrape targets, the SLO, the alert thresholds and volume guards, and where the runbook
 * lives. Change a value here and run `npm run monitoring`.
 */
export interface MonitoringConfig {
  /** Label matchers selecting tokenwatch's targets, inside the braces of every selector. */
  readonly selector: string;
  /** Labels the scrape adds per replica: fleet aggregates sum them away. */
  readonly replicaLabels: readonly string[];
  readonly runbookUrl: string;
  readonly validation: {
    readonly failureRatioWarning: number;
    readonly failureRatioCritical: number;
    /** Validations per second below which no ratio alerts: one failure out of three is not an incident. */
    readonly minRate: number;
    readonly latencyP99Seconds: number;
  };
  readonly idp: {
    readonly downFor: string;
    readonly jwksStaleFor: string;
    /** JWKSMaxStaleNear fires when the last good keys become unusable within this many seconds. */
    readonly maxStaleNearSeconds: number;
    readonly jwksMissRatio: number;
    /** Key lookups per second below which the miss ratio does not alert. */
    readonly minKeyLookupRate: number;
  };
  readonly issuance: {
    /** A client's 15m issuance rate above this many times its own rate over the hour before fires. */
    readonly spikeFactor: number;
    /** Tokens per second below which a client's issuance never counts as unusual. */
    readonly minRate: number;
  };
  readonly security: {
    readonly invalidGrantIn10m: number;
    readonly invalidSignatureIn5m: number;
    /** ForgedTokenBurst also needs this share of the issuer's validations: a busy service's trickle of bad tokens is not a burst. */
    readonly invalidSignatureShare: number;
    readonly unknownKeyIn5m: number;
  };
  readonly sidecar: {
    readonly downFor: string;
    readonly eventLogStalledSeconds: number;
  };
  readonly slo: {
    /** Share of requests tokenwatch does not fail itself. */
    readonly objective: number;
    /** Requests per second over a pair's short window below which its burn-rate alert stays silent. */
    readonly minRequestRate: number;
    /** Multi-window, multi-burn-rate pairs (Google SRE workbook, ch. 5; Sloth and Pyrra use the same). */
    readonly burnRates: ReadonlyArray<{
      readonly severity: 'critical' | 'warning';
      readonly long: string;
      readonly short: string;
      readonly factor: number;
      readonly for: string;
    }>;
  };
}

export const CONFIG: MonitoringConfig = {
  selector: 'job=~".*tokenwatch.*"',
  replicaLabels: ['instance', 'pod'],
  runbookUrl: 'https://github.com/tokenwatch/tokenwatch/blob/main/docs/runbook.md',
  validation: { failureRatioWarning: 0.01, failureRatioCritical: 0.1, minRate: 0.2, latencyP99Seconds: 0.1 },
  idp: { downFor: '2m', jwksStaleFor: '5m', maxStaleNearSeconds: 3600, jwksMissRatio: 0.1, minKeyLookupRate: 0.2 },
  issuance: { spikeFactor: 10, minRate: 0.5 },
  security: { invalidGrantIn10m: 20, invalidSignatureIn5m: 30, invalidSignatureShare: 0.001, unknownKeyIn5m: 10 },
  sidecar: { downFor: '5m', eventLogStalledSeconds: 900 },
  slo: {
    objective: 0.999,
    minRequestRate: 0.1,
    burnRates: [
      { severity: 'critical', long: '1h', short: '5m', factor: 14.4, for: '2m' },
      { severity: 'critical', long: '6h', short: '30m', factor: 6, for: '15m' },
      { severity: 'warning', long: '1d', short: '2h', factor: 3, for: '1h' },
      { severity: 'warning', long: '3d', short: '6h', factor: 1, for: '3h' },
    ],
  },
};
