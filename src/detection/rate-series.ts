/**
 * One counted series (a client's issuances, an issuer's failures of one reason) compared with its own past.
 *
 * Counts arrive in `pending` (a plain addition: the request path does nothing else) and are folded once a step.
 * Two figures come out of the fold:
 * - the observed rate: the exact count of the last `window`, from a ring of per-step counts;
 * - the baseline: an exponentially weighted moving average of the per-step rate with time constant `baseline`,
 *   bias-corrected while young (Kingma & Ba 2015, §3), so the first minutes are not read against a baseline near 0.
 *
 * Each step's rate enters the baseline clipped to `factor` × the baseline (Huber-style winsorising): an anomaly
 * barely moves the baseline it is judged against, while a lasting change of level is absorbed within about a
 * baseline time constant instead of alerting forever.
 *
 * The score is observed / max(baseline, minRate / factor). The floor is what makes a ratio usable on auth counters,
 * which sit at or near 0 most of the time: a series whose baseline is 0 needs `minRate` to reach `factor`, never a
 * single event. See docs/anomaly-detection.md.
 */
export interface RateSeriesOptions {
  readonly factor: number;
  /** Events per second; below it nothing is anomalous however small the baseline. */
  readonly minRate: number;
  readonly windowMs: number;
  readonly baselineMs: number;
  readonly stepMs: number;
}

export class RateSeries {
  /** Events since the last fold. */
  pending = 0;
  private readonly ring: Float64Array;
  private ringIndex = 0;
  private windowCount = 0;
  private readonly stepSeconds: number;
  private readonly windowSeconds: number;
  private readonly alpha: number;
  private readonly floor: number;
  private mean = 0;
  /** 1 - (1 - alpha)^steps: the weight the average has gathered, for the bias correction. */
  private gathered = 0;
  private steps = 0;

  constructor(private readonly options: RateSeriesOptions) {
    const slots = Math.max(1, Math.round(options.windowMs / options.stepMs));
    this.ring = new Float64Array(slots);
    this.stepSeconds = options.stepMs / 1000;
    this.windowSeconds = slots * this.stepSeconds;
    this.alpha = 1 - Math.exp(-options.stepMs / options.baselineMs);
    this.floor = options.minRate / options.factor;
  }

  /** Closes one step: the pending count enters the window and, clipped, the baseline. */
  fold(): void {
    const count = this.pending;
    this.pending = 0;
    this.windowCount += count - this.ring[this.ringIndex]!;
    this.ring[this.ringIndex] = count;
    this.ringIndex = (this.ringIndex + 1) % this.ring.length;
    const rate = count / this.stepSeconds;
    const clipped = this.steps === 0 ? rate : Math.min(rate, this.options.factor * Math.max(this.baseline, this.floor));
    this.mean += this.alpha * (clipped - this.mean);
    this.gathered += this.alpha * (1 - this.gathered);
    this.steps += 1;
  }

  /** Events per second over the last window. */
  get observed(): number {
    return Math.max(0, this.windowCount) / this.windowSeconds;
  }

  /** Events per second the series usually has. */
  get baseline(): number {
    return this.gathered === 0 ? 0 : this.mean / this.gathered;
  }

  get score(): number {
    return this.observed / Math.max(this.baseline, this.floor);
  }

  /** Time the series has been folded for: its baseline's age. */
  get ageMs(): number {
    return this.steps * this.options.stepMs;
  }
}
