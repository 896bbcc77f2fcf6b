import { Counter, type CounterConfiguration, type LabelValues, type MetricType } from 'prom-client';
import { TRACE_ID_LABEL, type Exemplar } from './exemplar.js';

/**
 * One label set of a HotCounter. The request path adds to `count`, a plain number; a validation whose span is
 * sampled calls `countTraced` instead, which also keeps its trace id as the series' exemplar (the latest only).
 */
export class CounterSlot {
  count = 0;
  private traceId: string | undefined;
  private tracedAt = 0;

  constructor(readonly labels: LabelValues<string>) {}

  countTraced(traceId: string): void {
    this.count += 1;
    this.traceId = traceId;
    this.tracedAt = Date.now();
  }

  /** The exemplar of the latest traced count: one count, at the time it happened (Unix seconds). */
  exemplar(): Exemplar | null {
    return this.traceId === undefined ? null : { labelSet: { [TRACE_ID_LABEL]: this.traceId }, value: 1, timestamp: this.tracedAt / 1000 };
  }

  reset(): void {
    this.count = 0;
    this.traceId = undefined;
  }
}

/** prom-client's types declare MetricType as an enum it does not export; at run time the type is this string. */
const COUNTER = 'counter' as unknown as MetricType;

/** What prom-client's registry reads from a metric's `get()` (its `MetricObjectWithValues`, which it does not export). */
type Exported<T extends string> = Awaited<ReturnType<Counter<T>['get']>>;

/**
 * A prom-client counter for the request path. Each label set is a slot created at start-up; an increment is a plain
 * addition to the slot, and the exposition is built from the slots at scrape time, in exactly prom-client's format.
 * prom-client hashes and validates the labels on every `inc`, which cost more than the rest of a cached validation's
 * bookkeeping (bench/ profiles). Only label sets known at start-up can be slots, which also keeps the cardinality
 * bounded.
 */
export class HotCounter<T extends string> extends Counter<T> {
  private readonly slots = new Map<string, CounterSlot>();
  private readonly labelOrder: readonly T[];
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(configuration: Omit<CounterConfiguration<T>, 'collect' | 'aggregator' | 'enableExemplars'>) {
    super(configuration);
    this.labelOrder = configuration.labelNames ?? [];
    this.metricName = configuration.name;
    this.metricHelp = configuration.help;
  }

  /** The slot for these labels (the same one for the same labels); the series exists (at 0) from now on. */
  slot(labels: LabelValues<T>): CounterSlot {
    const key = this.labelOrder.map((name) => String(labels[name])).join('\u0000');
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = new CounterSlot(labels);
      this.slots.set(key, slot);
    }
    return slot;
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    for (const slot of this.slots?.values() ?? []) slot.reset();
  }

  override async get(): Promise<Exported<T>> {
    const values = [];
    for (const slot of this.slots.values()) values.push({ labels: slot.labels, value: slot.count, exemplar: slot.exemplar() });
    const exported = { name: this.metricName, help: this.metricHelp, type: COUNTER, values, aggregator: 'sum' as const };
    return exported as unknown as Exported<T>;
  }
}
