import type { Attributes, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { tracing } from '@opentelemetry/sdk-node';

/**
 * A finished, sampled span as the request thread hands it to the export worker (span-export-worker.ts): plain data,
 * cheap to copy between threads. The worker turns it back into an SDK span with exactly these ids and times.
 * Events and links are not carried: no tokenwatch span has any.
 */
export interface SpanRecord {
  /** Instrumentation scope (tracer) name. */
  readonly scope: string;
  readonly name: string;
  readonly kind: SpanKind;
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** The parent's span id, absent for a root span. */
  readonly parentSpanId: string | undefined;
  /** True when the parent came from another process (a traceparent header). */
  readonly parentRemote: boolean;
  /** The W3C tracestate the span carries (its parent's), serialised. */
  readonly traceState: string | undefined;
  /** Milliseconds since the Unix epoch, fractional. */
  readonly startTime: number;
  readonly endTime: number;
  readonly attributes: Attributes;
  readonly statusCode: SpanStatusCode;
  readonly statusMessage: string | undefined;
}

/** The record of a span the SDK recorded in this thread (IdP fetch spans, a validation span the SDK sampled). */
export function recordOfSdkSpan(span: tracing.ReadableSpan): SpanRecord {
  const context = span.spanContext();
  return {
    scope: span.instrumentationScope.name,
    name: span.name,
    kind: span.kind,
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    parentRemote: span.parentSpanContext?.isRemote === true,
    traceState: context.traceState?.serialize(),
    startTime: hrTimeToMillis(span.startTime),
    endTime: hrTimeToMillis(span.endTime),
    attributes: span.attributes,
    statusCode: span.status.code,
    statusMessage: span.status.message,
  };
}

function hrTimeToMillis([seconds, nanos]: readonly [number, number]): number {
  return seconds * 1e3 + nanos / 1e6;
}
