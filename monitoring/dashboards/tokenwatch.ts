import { METRICS } from '../../src/observability/catalog/metrics.js';
import { CONFIG } from '../config.js';
import { num } from '../promql.js';
import { RECORDED } from '../rules/recording.js';
import { FILTER, type DashboardSpec } from './build.js';
import { quantileBy, rateBy, sel } from './queries.js';

/** prom-client's default runtime metrics (not in the catalogue, which holds tokenwatch's own). */
const RESIDENT_MEMORY = 'process_resident_memory_bytes';
const HEAP_USED = 'nodejs_heap_size_used_bytes';

const pods = [FILTER.namespace, FILTER.pod];
const runtime = (name: string) => `${name}{${[CONFIG.selector, ...pods].join(', ')}}`;
const budget = num(1 - CONFIG.slo.objective);
const pageWindows = CONFIG.slo.burnRates.filter((pair) => pair.severity === 'critical').map((pair) => pair.long);

export const tokenwatchSelf: DashboardSpec = {
  uid: 'tokenwatch-sidecar',
  title: 'tokenwatch / Sidecar',
  description: "tokenwatch's own health: requests, the errors it causes itself and its SLO burn, latency, memory, and lost logs and spans.",
  rows: [
    {
      title: 'Requests and SLO',
      panels: [
        {
          kind: 'timeseries',
          title: 'Requests',
          description: 'Requests reaching the data-plane listener per second, by mode (a connection shed at limits.connections counts as one).',
          unit: 'reqps',
          queries: [{ expr: rateBy(['mode'], sel(METRICS.requests, pods)), legend: '{{mode}}' }],
        },
        {
          kind: 'timeseries',
          title: 'Own errors by cause',
          description: "Requests tokenwatch failed itself per second, by cause: its own 5xx (no usable keys, upstream unreachable or timed out, shutting down, internal error) and shed connections. An upstream's own 5xx is not counted.",
          unit: 'reqps',
          queries: [{ expr: rateBy(['cause'], sel(METRICS.requestErrors, pods)), legend: '{{cause}}' }],
          alerts: ['TokenwatchErrorBudgetBurn'],
        },
        {
          kind: 'timeseries',
          title: 'Error budget burn rate',
          description: `Error ratio over the objective's budget (${budget} for ${num(CONFIG.slo.objective * 100)}%), over the long windows of the paging alerts. 1 spends the budget in exactly 30 days; 14.4 over 1h and 6 over 6h page.`,
          unit: 'short',
          queries: pageWindows.map((window) => ({
            expr: `${RECORDED.errorRatio(window)}{${FILTER.namespace}} / ${budget}`,
            legend: `{{mode}} ${window}`,
          })),
          alerts: ['TokenwatchErrorBudgetBurn'],
        },
        {
          kind: 'stat',
          title: 'Availability (1d)',
          description: `Share of requests over the last day that tokenwatch did not fail itself, against the ${num(CONFIG.slo.objective * 100)}% objective.`,
          unit: 'percentunit',
          queries: [{ expr: `1 - ${RECORDED.errorRatio('1d')}{${FILTER.namespace}}`, legend: '{{mode}}' }],
          alerts: ['TokenwatchErrorBudgetBurn'],
        },
      ],
    },
    {
      title: 'Latency',
      panels: [
        {
          kind: 'timeseries',
          title: 'Validation latency p99 by pod',
          description: 'p99 time to validate a token, per pod. Exemplars link to the validation span when tracing is on.',
          unit: 's',
          queries: [{ expr: quantileBy(0.99, ['pod'], sel(METRICS.tokenValidationDuration, pods, 'bucket')), legend: '{{pod}}', exemplar: true }],
          alerts: ['TokenValidationLatencyHigh'],
        },
        {
          kind: 'timeseries',
          title: 'Upstream latency p99 (proxy mode)',
          description: 'p99 time for the app behind tokenwatch to send its response head, by status class; error is no answer at all.',
          unit: 's',
          queries: [{ expr: quantileBy(0.99, ['status_class'], sel(METRICS.upstreamRequestDuration, pods, 'bucket')), legend: '{{status_class}}' }],
        },
      ],
    },
    {
      title: 'Process',
      panels: [
        {
          kind: 'stat',
          title: 'Targets up',
          description: 'tokenwatch targets Prometheus scraped successfully at its last scrape.',
          unit: 'short',
          width: 6,
          queries: [{ expr: `sum(up{${[CONFIG.selector, ...pods].join(', ')}})`, legend: 'up' }],
          alerts: ['TokenwatchDown'],
        },
        {
          kind: 'timeseries',
          title: 'Memory',
          description: 'Resident memory and used V8 heap per pod.',
          unit: 'bytes',
          width: 18,
          queries: [
            { expr: `sum by (pod) (${runtime(RESIDENT_MEMORY)})`, legend: 'rss {{pod}}' },
            { expr: `sum by (pod) (${runtime(HEAP_USED)})`, legend: 'heap {{pod}}' },
          ],
        },
        {
          kind: 'timeseries',
          title: 'Lost log lines and spans',
          description: 'Log lines dropped because stdout did not keep up, failed log writes, and sampled spans dropped before export, per second. Any audit line lost is a gap in the trail.',
          unit: 'ops',
          queries: [
            { expr: rateBy(['pod'], sel(METRICS.logLinesDropped, pods)), legend: 'log lines dropped {{pod}}' },
            { expr: rateBy(['pod'], sel(METRICS.logWriteErrors, pods)), legend: 'log write errors {{pod}}' },
            { expr: rateBy(['pod'], sel(METRICS.tracingSpansDropped, pods)), legend: 'spans dropped {{pod}}' },
          ],
        },
        {
          kind: 'timeseries',
          title: 'Connections',
          description: 'Open data-plane connections per pod, and connections shed at limits.connections per second.',
          unit: 'short',
          queries: [
            { expr: `sum by (pod) (${sel(METRICS.listenerConnections, pods)})`, legend: 'open {{pod}}' },
            { expr: rateBy(['pod'], sel(METRICS.listenerConnectionsDropped, pods)), legend: 'shed/s {{pod}}' },
          ],
        },
        {
          kind: 'timeseries',
          title: 'IdP event log freshness',
          description: 'Time since the newest IdP event was read, per pod and issuer. IdPEventLogStalled fires past the configured silence.',
          unit: 's',
          queries: [{ expr: `time() - ${sel(METRICS.idpEventLastTimestamp, [...pods, FILTER.issuer])}`, legend: '{{pod}} {{issuer}}' }],
          alerts: ['IdPEventLogStalled'],
        },
      ],
    },
  ],
};
