import type { MetricDefinition } from '../../src/observability/catalog/metrics.js';
import { select } from '../promql.js';
import type { Query } from './build.js';

/** A selector of tokenwatch's targets narrowed by the dashboard's variables and any other matchers. */
export function sel(metric: MetricDefinition, matchers: readonly string[], part?: 'bucket' | 'count' | 'sum'): string {
  return select(metric, { matchers, ...(part === undefined ? {} : { part }) });
}

/** `sum by (labels) (rate(selector[$__rate_interval]))`: counters are only ever plotted as rates. */
export function rateBy(labels: readonly string[], selector: string): string {
  return `sum by (${labels.join(', ')}) (rate(${selector}[$__rate_interval]))`;
}

/** The q-quantile of a histogram over the dashboard's rate interval, per `labels`. */
export function quantileBy(q: number, labels: readonly string[], bucketSelector: string): string {
  return `histogram_quantile(${q}, sum by (${['le', ...labels].join(', ')}) (rate(${bucketSelector}[$__rate_interval])))`;
}

/** One query per quantile of a histogram, per `labels`, legends `p50 {{label}}`, `p99 {{label}}`... */
export function quantiles(qs: readonly number[], labels: readonly string[], metric: MetricDefinition, matchers: readonly string[]): Query[] {
  const suffix = labels.map((label) => ` {{${label}}}`).join('');
  return qs.map((q) => ({ expr: quantileBy(q, labels, sel(metric, matchers, 'bucket')), legend: `p${Math.round(q * 100)}${suffix}` }));
}
