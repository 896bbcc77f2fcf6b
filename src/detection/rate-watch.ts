import { perSecond, type DetectorName, type Finding } from './anomaly.js';
import { RateSeries, type RateSeriesOptions } from './rate-series.js';

/**
 * How unlikely a window's count must be at the baseline rate to count as anomalous. A series is judged about 86,400
 * times a day, so one in a billion keeps a quiet series well under one false alert a year (docs/anomaly-detection.md).
 */
export const SURPRISE = 1e-9;

/**
 * A rate series with its alert state. It turns anomalous once its baseline holds `warmup` of history, its score
 * reaches `factor` and its window's count is one a Poisson series at the baseline would see less than once in
 * SURPRISE; it turns back once the score falls under half the factor, so a rate hovering at the threshold does not
 * flap. A change lasting a whole baseline period is the new normal: the baseline is set to it and the alert resolves.
 */
export class RateWatch {
  readonly series: RateSeries;
  private anomalous = false;
  private anomalousMs = 0;

  constructor(
    readonly key: string,
    readonly labels: Readonly<Record<string, string>>,
    private readonly options: RateSeriesOptions & { readonly warmupMs: number },
  ) {
    this.series = new RateSeries(options);
  }

  /** Folds the step; true while the series is anomalous. */
  step(): boolean {
    const { series, options } = this;
    series.fold(this.anomalous);
    if (this.anomalous) {
      this.anomalousMs += options.stepMs;
      if (this.anomalousMs >= options.baselineMs) series.rebase();
      this.anomalous = series.score >= options.factor / 2;
    } else {
      this.anomalous = series.baselineAgeMs >= options.warmupMs && series.score >= options.factor && series.surprise < SURPRISE;
      this.anomalousMs = 0;
    }
    return this.anomalous;
  }
}

/** What a rate detector says about one of its anomalous series, in words. */
export type Describe = (labels: Readonly<Record<string, string>>, figures: { observed: string; baseline: string; score: number }) => Pick<Finding, 'summary' | 'description'>;

/** Steps every watch of a rate detector, reports each anomalous one with its figures, and returns the highest score. */
export function stepWatches(
  watches: Iterable<RateWatch>,
  detector: DetectorName,
  severity: string,
  describe: Describe,
  report: (finding: Finding) => void,
): number {
  let max = 0;
  for (const watch of watches) {
    const anomalous = watch.step();
    const { score } = watch.series;
    if (score > max) max = score;
    if (!anomalous) continue;
    const figures = { observed: perSecond(watch.series.observed), baseline: perSecond(watch.series.baseline), score };
    report({ key: watch.key, detector, severity, labels: watch.labels, ...figures, ...describe(watch.labels, figures) });
  }
  return max;
}
