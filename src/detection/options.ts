import type { RateSeriesOptions } from './rate-series.js';

/** What a rate detector needs from its configuration section, durations in ms. */
export interface RateDetectorOptions extends RateSeriesOptions {
  readonly warmupMs: number;
  readonly severity: string;
}
