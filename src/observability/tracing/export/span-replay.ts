import { ROOT_CONTEXT, createTraceState, trace, type Context, type Tracer, type TracerProvider } from '@opentelemetry/api';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';
import type { SpanRecord } from '../span-record.js';

/** The id generator of the provider that replays: it hands out the ids of the record being replayed. */
export class ReplayedIds implements IdGenerator {
  traceId = '';
  spanId = '';

  generateTraceId(): string {
    return this.traceId;
  }

  generateSpanId(): string {
    return this.spanId;
  }
}

/**
 * Turns span records back into SDK spans with exactly their ids, parent, times, attributes and status, in the export
 * worker. `provider` must have been built with `ids` as its id generator.
 */
export class SpanReplayer {
  private readonly tracers = new Map<string, Tracer>();

  constructor(
    private readonly provider: TracerProvider,
    private readonly ids: ReplayedIds,
  ) {}

  replay(record: SpanRecord): void {
    this.ids.traceId = record.traceId;
    this.ids.spanId = record.spanId;
    let parent: Context = ROOT_CONTEXT;
    if (record.parentSpanId !== undefined) {
      parent = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: record.traceId,
        spanId: record.parentSpanId,
        traceFlags: 1,
        isRemote: record.parentRemote,
        ...(record.traceState ? { traceState: createTraceState(record.traceState) } : {}),
      });
    }
    let tracer = this.tracers.get(record.scope);
    if (!tracer) this.tracers.set(record.scope, (tracer = this.provider.getTracer(record.scope)));
    const span = tracer.startSpan(record.name, { kind: record.kind, startTime: record.startTime, attributes: record.attributes }, parent);
    if (record.statusCode !== 0) span.setStatus({ code: record.statusCode, ...(record.statusMessage !== undefined ? { message: record.statusMessage } : {}) });
    span.end(record.endTime);
  }
}
