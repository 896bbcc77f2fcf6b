/** The label that names an exemplar's trace: Grafana's `exemplarTraceIdDestinations` look it up by this name. */
export const TRACE_ID_LABEL = 'trace_id';

/**
 * An exemplar as prom-client's OpenMetrics exposition reads it from a value of `get()`, the shape its own
 * histograms and counters put there: `# {trace_id="…"} value timestamp`, the timestamp in Unix seconds.
 */
export interface Exemplar {
  readonly labelSet: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp: number;
}
