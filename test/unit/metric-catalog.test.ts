import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { idpEventMetrics } from '../../src/idp-events/metrics.js';
import { configReloadMetrics } from '../../src/main/reload.js';
import { METRICS, RUNTIME_METRIC_PREFIXES, type MetricDefinition } from '../../src/observability/catalog/metrics.js';
import { ValidationMetrics } from '../../src/observability/metrics/validation-metrics.js';

const CATALOG: readonly MetricDefinition[] = Object.values(METRICS);

/** A registry holding every metric tokenwatch can register, as the sidecar builds it. */
async function everyRegisteredMetric(): Promise<Map<string, { type: string; help: string; labels: Set<string> }>> {
  const metrics = new ValidationMetrics({ version: 'test', issuers: ['https://idp.example.com'], routeScopes: ['read'], tokenCacheEntries: () => 0, dataPlaneMode: 'proxy' });
  const server = { on: () => undefined, getConnections: (done: (error: null, count: number) => void) => done(null, 0) };
  metrics.watchListener(server as never);
  idpEventMetrics(metrics.registry);
  configReloadMetrics(metrics.registry);
  const found = new Map<string, { type: string; help: string; labels: Set<string> }>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    const labels = new Set<string>();
    for (const value of metric.values) for (const label of Object.keys(value.labels)) if (label !== 'le') labels.add(label);
    found.set(metric.name, { type: String(metric.type), help: metric.help, labels });
  }
  return found;
}

/** `| \`name\` | type | ...` rows of the metric tables in docs/metrics.md. */
function documentedRows(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const match of readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8').matchAll(/^\| `([a-z_]+)` \| ([a-z]+)/gm)) {
    rows.set(match[1]!, match[2]!);
  }
  return rows;
}

describe('the metric catalogue', () => {
  test('names every metric once, each with a help text and a bound for every label', () => {
    const names = CATALOG.map((metric) => metric.name);
    expect(new Set(names).size).toBe(names.length);
    for (const metric of CATALOG) {
      expect(metric.help.length, metric.name).toBeGreaterThan(10);
      if (metric.type === 'histogram') expect(metric.buckets?.length, metric.name).toBeGreaterThan(0);
      for (const [label, bound] of Object.entries(metric.labels)) {
        const bounded = Array.isArray(bound) ? bound.length > 0 : 'boundedBy' in bound && bound.boundedBy.length > 0;
        expect(bounded, `${metric.name}{${label}}`).toBe(true);
      }
    }
  });

  test('names every counter, runtime ones included, with _total, so OpenMetrics and the text format name its series alike', async () => {
    const counters = [...(await everyRegisteredMetric())].filter(([, metric]) => metric.type === 'counter').map(([name]) => name);
    expect(counters.length).toBeGreaterThan(10);
    expect(counters.filter((name) => !name.endsWith('_total'))).toEqual([]);
  });

  test('is exactly what the registry holds, besides the runtime metrics, with the same types, help and label names', async () => {
    const registered = await everyRegisteredMetric();
    const own = [...registered.keys()].filter((name) => !RUNTIME_METRIC_PREFIXES.some((prefix) => name.startsWith(prefix)));
    expect(own.sort()).toEqual(CATALOG.map((metric) => metric.name).sort());
    for (const metric of CATALOG) {
      const found = registered.get(metric.name)!;
      expect(found.type, metric.name).toBe(metric.type);
      expect(found.help, metric.name).toBe(metric.help);
      // A series appears only once observed (upstream status classes): labels seen are a subset of those declared.
      for (const label of found.labels) expect(Object.keys(metric.labels), metric.name).toContain(label);
    }
  });

  test('is what docs/metrics.md documents: every metric in a table row with its type, and no other', () => {
    const rows = documentedRows();
    expect([...rows.keys()].sort()).toEqual(CATALOG.map((metric) => metric.name).sort());
    for (const metric of CATALOG) expect(rows.get(metric.name), metric.name).toBe(metric.type);
  });
});
