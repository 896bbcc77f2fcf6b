import { RateSeries, type RateSeriesOptions } from './rate-series.js';

/**
 * A rate series with its alert state. It turns anomalous once its baseline holds `warmup` of history and its score reaches
 * `factor`; it turns back once the score falls under half of it, so a rate hovering at the threshold does not flap.
 */
export class RateWatch {
  readonly series: RateSeries;
  private anomalous = false;

  constructor(
    readonly key: string,
    readonly labels: Readonly<Record<string, string>>,
    private readonly options: RateSeriesOptions & { readonly warmupMs: number },
  ) {
    this.series = new RateSeries(options);
  }

  /** Folds the step; true while the series is anomalous. */
  step(): boolean {
    this.series.fold(this.anomalous);
    const score = this.series.score;
    if (this.anomalous) this.anomalous = score >= this.options.factor / 2;
    else this.anomalous = this.series.baselineAgeMs >= this.options.warmupMs && score >= this.options.factor;
    return this.anomalous;
  }
}
