import { poissonUpperTail } from './poisson.js';

/**
 * One counted series (a client's issuances, an issuer's failures of one reason) compared with its own past.
 *
 * Counts arrive in `pending` (a plain addition: the request path does nothing else) and are folded once a step.
 * Two figures come out of the fold:
 * - the observed rate: the exact count of the last `window`, from a ring of per-step counts;
 * - the baseline: an exponentially weighted moving average of the per-step rate with time constant `baseline`, fed
 *   with the steps as they leave the window, so what is being judged never moves what it is judged against. While
 *   young it is the running mean (the n-th step weighs 1/n until that falls below the EWMA's weight), so the first
 *   minutes are not read against a baseline that started at 0.
 *
 * A step enters the baseline clipped to `factor` × the baseline (Huber-style winsorising), and none enters while the
 * series is anomalous: a spike never moves the baseline it is judged against. A change that lasts is made the new
 * baseline by `rebase` (RateWatch decides when).
 *
 * The score is observed / max(baseline, minRate / factor). The floor is what makes a ratio usable on auth counters,
 * which sit at or near 0 most of the time: a series whose baseline is 0 needs `minRate` to reach `factor`, never a
 * single event. `surprise` is the Poisson tail of the window's count under the baseline: a low-volume series can
 * reach the factor by chance, and the tail says how often. See docs/anomaly-detection.md.
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
  /** Steps folded into the baseline so far. */
  private entered = 0;
  private steps = 0;

  constructor(private readonly options: RateSeriesOptions) {
    const slots = Math.max(1, Math.round(options.windowMs / options.stepMs));
    this.ring = new Float64Array(slots);
    this.stepSeconds = options.stepMs / 1000;
    this.windowSeconds = slots * this.stepSeconds;
    this.alpha = 1 - Math.exp(-options.stepMs / options.baselineMs);
    this.floor = options.minRate / options.factor;
  }

  /**
   * Closes one step: the pending count enters the window, and the step leaving the window enters the baseline
   * unless the series is anomalous.
   */
  fold(anomalous = false): void {
    const count = this.pending;
    this.pending = 0;
    const leaving = this.ring[this.ringIndex]!;
    if (this.steps >= this.ring.length && !anomalous) this.enter(leaving / this.stepSeconds);
    this.windowCount += count - leaving;
    this.ring[this.ringIndex] = count;
    this.ringIndex = (this.ringIndex + 1) % this.ring.length;
    this.steps += 1;
  }

  /** Events per second over the last window. */
  get observed(): number {
    return Math.max(0, this.windowCount) / this.windowSeconds;
  }

  /** Events per second the series usually has. */
  get baseline(): number {
    return this.mean;
  }

  get score(): number {
    return this.observed / Math.max(this.mean, this.floor);
  }

  /** How likely the window's count is at the baseline rate (the floor's, if higher). */
  get surprise(): number {
    return poissonUpperTail(Math.max(0, this.windowCount), Math.max(this.mean, this.floor) * this.windowSeconds);
  }

  /** Takes the observed rate as the baseline from now on, with a mature baseline's weight. */
  rebase(): void {
    this.mean = this.observed;
    this.entered = Math.max(this.entered, Math.ceil(1 / this.alpha));
  }

  /** How much history the baseline holds. */
  get baselineAgeMs(): number {
    return this.entered * this.options.stepMs;
  }

  private enter(rate: number): void {
    this.entered += 1;
    const weight = Math.max(this.alpha, 1 / this.entered);
    const clipped = this.entered === 1 ? rate : Math.min(rate, this.options.factor * Math.max(this.mean, this.floor));
    this.mean += weight * (clipped - this.mean);
  }
}
