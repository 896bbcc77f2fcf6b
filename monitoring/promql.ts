import { labelValues, type MetricDefinition } from '../src/observability/catalog/metrics.js';
import { CONFIG } from './config.js';

/** A sample name of a catalogue metric: the metric itself, or one of a histogram's series. */
export function sampleName(metric: MetricDefinition, part?: 'bucket' | 'count' | 'sum'): string {
  if (part !== undefined && metric.type !== 'histogram') throw new Error(`${metric.name} is a ${metric.type}, it has no _${part}`);
  return part === undefined ? metric.name : `${metric.name}_${part}`;
}

type FixedLabel<D extends MetricDefinition> = {
  [L in keyof D['labels']]: D['labels'][L] extends readonly string[] ? L : never;
}[keyof D['labels']];
type ValueOf<D extends MetricDefinition, L extends keyof D['labels']> = D['labels'][L] extends readonly (infer V)[] ? V : never;

/**
 * `label="value"` for a label whose values the catalogue fixes; a value it does not list fails the type check (and,
 * should the types be bypassed, the generator).
 */
export function is<D extends MetricDefinition, L extends FixedLabel<D> & string>(metric: D, label: L, value: ValueOf<D, L> & string): string {
  const values = labelValues(metric.labels[label]!);
  if (!values?.includes(value)) throw new Error(`${metric.name}{${label}} has no value ${value}`);
  return `${label}="${value}"`;
}

/** `label="value"` for a label bounded by a set defined outside the catalogue (error codes, grant types). */
export function isOneOf<D extends MetricDefinition>(metric: D, label: keyof D['labels'] & string, values: readonly string[], value: string): string {
  if (!(label in metric.labels)) throw new Error(`${metric.name} has no label ${label}`);
  if (!values.includes(value)) throw new Error(`${metric.name}{${label}} has no value ${value}`);
  return `${label}="${value}"`;
}

/** A selector of tokenwatch's targets: `name{job=~"...",extra...}`. */
export function select(metric: MetricDefinition, options: { part?: 'bucket' | 'count' | 'sum'; matchers?: readonly string[] } = {}): string {
  return `${sampleName(metric, options.part)}{${[CONFIG.selector, ...(options.matchers ?? [])].join(',')}}`;
}

/** `sum without (instance, pod, ...)`: one fleet view across every replica. */
export function fleetSum(expression: string, alsoWithout: readonly string[] = []): string {
  return `sum without (${[...CONFIG.replicaLabels, ...alsoWithout].join(', ')}) (${expression})`;
}

/** A number as PromQL reads it, without float noise (0.1 * 3 prints 0.30000000000000004). */
export function num(value: number): string {
  return String(Number(value.toPrecision(12)));
}
