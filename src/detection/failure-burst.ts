import type { FailureReason } from '../auth/reasons.js';
import { UNKNOWN_ISSUER } from '../observability/catalog/metrics.js';
import type { GateObserver, ValidationRecord } from '../server/gate/ports.js';
import type { Detector, Finding } from './anomaly.js';
import type { RateDetectorOptions } from './options.js';
import { RateWatch, stepWatches, type Describe } from './rate-watch.js';

type ReasonSlots = Partial<Record<FailureReason, RateWatch>>;

/**
 * Validation failures of the watched reasons, per issuer: a burst of `invalid_signature` is forged tokens, of
 * `unknown_key` a kid spray or a rotation the JWKS has not caught up with. Every series is made at start-up
 * (configured issuers plus `unknown`, times the watched reasons), so a kid spray or a flood of foreign issuers
 * cannot grow memory, and the request path only adds 1 to a slot it finds in a map of a handful of issuers.
 */
export class FailureBurstDetector implements Detector, GateObserver {
  readonly name = 'failure_burst';
  maxScore = 0;
  private readonly byIssuer = new Map<string, ReasonSlots>();
  private readonly unknown: ReasonSlots;
  private readonly watches: RateWatch[] = [];

  constructor(
    private readonly options: RateDetectorOptions & { readonly reasons: readonly FailureReason[] },
    issuers: readonly string[],
  ) {
    for (const issuer of [...issuers, UNKNOWN_ISSUER]) {
      const slots: ReasonSlots = {};
      for (const reason of options.reasons) {
        const watch = new RateWatch(`${issuer}\n${reason}`, { issuer, reason }, options);
        slots[reason] = watch;
        this.watches.push(watch);
      }
      this.byIssuer.set(issuer, slots);
    }
    this.unknown = this.byIssuer.get(UNKNOWN_ISSUER)!;
  }

  validated(record: ValidationRecord): void {
    const failure = record.failure;
    if (failure === undefined) return;
    const issuer = record.issuer;
    const watch = ((issuer !== undefined && this.byIssuer.get(issuer)) || this.unknown)[failure.reason];
    if (watch !== undefined) watch.series.pending += 1;
  }

  step(_nowMs: number, report: (finding: Finding) => void): void {
    this.maxScore = stepWatches(this.watches, this.name, this.options.severity, this.describe, report);
  }

  private readonly describe: Describe = ({ issuer, reason }, { observed, baseline, score }) => ({
    summary: `${reason} failures at ${observed}, ${score.toFixed(0)}× their baseline`,
    description:
      `Tokens of ${issuer} fail validation with ${reason} at ${observed} over the last ${this.options.windowMs / 1000}s, ` +
      `against a usual ${baseline}.`,
  });
}
