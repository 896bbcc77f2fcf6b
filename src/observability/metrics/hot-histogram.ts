import { Histogram, type HistogramConfiguration, type MetricType, type LabelValues, type MetricValueWithName } from 'prom-client';
import { TRACE_ID_LABEL, type Exemplar } from './exemplar.js';

/**
 * One label set of a HotHistogram: the request path calls `observe`, which is plain arithmetic on arrays, or, for a
 * validation whose span is sampled, `observeTraced`, which also keeps the trace id as the exemplar of the value's
 * bucket (the latest one per bucket).
 */
export interface HistogramSlot {
  observe(value: number): void;
  observeTraced(value: number, traceId: string): void;
}

/** The latest traced observation of each bucket: its trace id, value and time (Unix ms). */
class BucketExemplars {
  readonly traceIds: Array<string | undefined>;
  readonly values: Float64Array;
  readonly times: Float64Array;

  constructor(buckets: number) {
    this.traceIds = new Array<string | undefined>(buckets).fill(undefined);
    this.values = new Float64Array(buckets);
    this.times = new Float64Array(buckets);
  }

  of(index: number): Exemplar | null {
    const traceId = this.traceIds[index];
    return traceId === undefined ? null : { labelSet: { [TRACE_ID_LABEL]: traceId }, value: this.values[index]!, timestamp: this.times[index]! / 1000 };
  }
}

class Slot<T extends string> implements HistogramSlot {
  /** Observations per bucket (not cumulative); the last entry is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /** Made at the first traced observation: a sidecar without tracing never holds any. */
  exemplars: BucketExemplars | undefined;

  constructor(
    readonly labels: LabelValues<T>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    this.add(value);
  }

  observeTraced(value: number, traceId: string): void {
    const index = this.add(value);
    if (index < 0) return;
    const exemplars = (this.exemplars ??= new BucketExemplars(this.counts.length));
    exemplars.traceIds[index] = traceId;
    exemplars.values[index] = value;
    exemplars.times[index] = Date.now();
  }

  /** Counts the value; answers its bucket's index, or -1 for a value that is not counted. */
  private add(value: number): number {
    if (!Number.isFinite(value)) return -1;
    const bounds = this.bounds;
    let index = 0;
    while (index < bounds.length && value > bounds[index]!) index += 1;
    this.counts[index]! += 1;
    this.sum += value;
    this.count += 1;
    return index;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
    this.exemplars = undefined;
  }
}

/** prom-client's types declare MetricType as an enum it does not export; at run time the type is this string. */
const HISTOGRAM = 'histogram' as unknown as MetricType;

type ExportedValue<T extends string> = MetricValueWithName<T> & { sharedLabels?: LabelValues<T>; exemplar?: Exemplar | null };
/** What prom-client's registry reads from a metric's `get()` (its `MetricObjectWithValues`, which it does not export). */
type Exported<T extends string> = Awaited<ReturnType<Histogram<T>['get']>>;

/**
 * A prom-client histogram for the request path. prom-client's `observe`, even on a child, converts, validates and
 * hashes the labels on every call, which cost more than the rest of a cached validation's bookkeeping (bench/
 * profiles). Here each label set is a slot created at start-up and an observation is a bucket search and two
 * additions; the exposition is built from the slots at scrape time, in exactly prom-client's format. Only label
 * sets known at start-up can be slots, which also keeps the cardinality bounded.
 */
export class HotHistogram<T extends string> extends Histogram<T> {
  private readonly slots: Array<Slot<T>> = [];
  private readonly bounds: readonly number[];
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(configuration: Omit<HistogramConfiguration<T>, 'collect' | 'aggregator'> & { buckets: readonly number[] }) {
    super({ ...configuration, buckets: [...configuration.buckets] });
    this.bounds = [...configuration.buckets].sort((a, b) => a - b);
    this.metricName = configuration.name;
    this.metricHelp = configuration.help;
  }

  /** A slot for these labels; the series exists (all zero) from now on. */
  slot(labels: LabelValues<T>): HistogramSlot {
    const slot = new Slot<T>(labels, this.bounds);
    this.slots.push(slot);
    return slot;
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    for (const slot of this.slots ?? []) slot.reset();
  }

  /** Labels of each value kept apart from `le`, as prom-client's text exposition reads them (it prefers this to get). */
  async getForPromString(): Promise<Exported<T>> {
    return this.export((le, labels) => ({ labels: le as LabelValues<T>, sharedLabels: labels }));
  }

  override async get(): Promise<Exported<T>> {
    return this.export((le, labels) => ({ labels: { ...le, ...labels } as LabelValues<T> }));
  }

  private export(
    labelsOf: (le: Record<string, string | number>, labels: LabelValues<T>) => Pick<ExportedValue<T>, 'labels' | 'sharedLabels'>,
  ): Exported<T> {
    const values: ExportedValue<T>[] = [];
    const bucket = `${this.metricName}_bucket`;
    for (const slot of this.slots) {
      let cumulative = 0;
      for (let index = 0; index < this.bounds.length; index += 1) {
        cumulative += slot.counts[index]!;
        values.push({ ...labelsOf({ le: this.bounds[index]! }, slot.labels), value: cumulative, metricName: bucket, exemplar: slot.exemplars?.of(index) ?? null });
      }
      const inf = this.bounds.length;
      values.push({ ...labelsOf({ le: '+Inf' }, slot.labels), value: slot.count, metricName: bucket, exemplar: slot.exemplars?.of(inf) ?? null });
      values.push({ ...labelsOf({}, slot.labels), value: slot.sum, metricName: `${this.metricName}_sum` });
      values.push({ ...labelsOf({}, slot.labels), value: slot.count, metricName: `${this.metricName}_count` });
    }
    // prom-client's own histograms return no `collect` here, whatever its type declaration says.
    const exported = { name: this.metricName, help: this.metricHelp, type: HISTOGRAM, values, aggregator: 'sum' as const };
    return exported as Exported<T>;
  }
}

