import { Counter, type CounterConfiguration, type LabelValues } from 'prom-client';

/** One label set of a HotCounter: the request path adds to `pending`, a plain number. */
export interface CounterSlot {
  pending: number;
}

interface LabelledSlot<T extends string> extends CounterSlot {
  readonly labels: LabelValues<T>;
}

/**
 * A prom-client counter for the request path. Each label set is a slot created at start-up; an increment is a plain
 * addition to the slot, folded into the counter when it is scraped. prom-client hashes and validates the labels on
 * every `inc`, which cost more than the rest of a cached validation's bookkeeping (bench/ profiles). Only label sets
 * known at start-up can be slots, which is also what keeps the cardinality bounded.
 */
export class HotCounter<T extends string> {
  private readonly slots: Array<LabelledSlot<T>> = [];
  readonly counter: Counter<T>;

  constructor(configuration: Omit<CounterConfiguration<T>, 'collect'>) {
    const slots = this.slots;
    this.counter = new Counter<T>({
      ...configuration,
      collect() {
        for (const slot of slots) {
          if (slot.pending === 0) continue;
          this.inc(slot.labels, slot.pending);
          slot.pending = 0;
        }
      },
    });
  }

  /** A slot for these labels; the series exists (at 0) from now on. */
  slot(labels: LabelValues<T>): CounterSlot {
    const slot: LabelledSlot<T> = { labels, pending: 0 };
    this.slots.push(slot);
    this.counter.inc(labels, 0);
    return slot;
  }
}
