import { Counter, Registry, type Metric, type OpenMetricsContentType } from 'prom-client';
import type { MetricsExposition } from '../../server/admin/server.js';

/**
 * Both expositions of one registry. prom-client writes one format per registry, and its OpenMetrics writer renames
 * each counter it is given in place (`x_total` becomes `x`, so the counter's samples read `x_total` in OpenMetrics):
 * given the classic registry's own counters, every later classic scrape would lose their `_total`. So each
 * OpenMetrics scrape reads a registry of its own, made for that scrape, in which each counter is a view with the
 * OpenMetrics name that reads the real counter's values; every other metric is shared as it is, since the writer
 * leaves it alone. Made per scrape, it also includes metrics registered after start-up (the listener's, reload's).
 */
export function metricsExposition(registry: Registry): MetricsExposition {
  return {
    classic: () => registry.metrics(),
    openMetrics: () => {
      const view = new Registry<OpenMetricsContentType>();
      view.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      // A registry holds the Metric objects registered with it; its types call them MetricObjects.
      for (const metric of registry.getMetricsAsArray() as unknown as Metric[]) {
        view.registerMetric(metric instanceof Counter ? new CounterView(metric) : metric);
      }
      return view.metrics();
    },
  };
}

/** A counter as the OpenMetrics writer must see it: named without `_total`, reading the real counter's values. */
class CounterView extends Counter {
  private readonly openMetricsName: string;

  constructor(private readonly source: Counter) {
    // prom-client's types leave out the name and help every metric has.
    const { name, help } = source as unknown as { name: string; help: string };
    const openMetricsName = name.replace(/_total$/, '');
    super({ name: openMetricsName, help, registers: [] });
    this.openMetricsName = openMetricsName;
  }

  override async get(): ReturnType<Counter['get']> {
    return { ...(await this.source.get()), name: this.openMetricsName };
  }
}
