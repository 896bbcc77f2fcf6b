import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import type { ReadableSpan, Sampler, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../../logging/logger.js';
import type { GateRequest, ValidationRecord, ValidationSpan, ValidationTracing } from '../../server/gate/ports.js';
import { otlpTracesProtocol, type OtlpProtocol } from './otlp-protocol.js';
import { VALIDATION_SPAN, recordOfSdkSpan, validationAttributes, validationSpanRecord, type ValidationSpanRecord } from './span-record.js';
import { SpanShipper } from './span-shipper.js';
import { accumulate, accumulateHex, parseTraceparent, randomSpanId, randomTraceWords, ratioUpperBound, samplingPlan, wordsToHex, type SamplingPlan } from './trace-sampling.js';

/** The W3C trace context headers of a request. */
type TraceHeaders = Pick<GateRequest, 'traceparent' | 'tracestate'>;

export interface Tracing {
  readonly validation: ValidationTracing;
  shutdown(): Promise<void>;
}

const TRACER_NAME = 'tokenwatch';

const HEADER_GETTER: TextMapGetter<TraceHeaders> = {
  keys: () => ['traceparent', 'tracestate'],
  get: (carrier, key) => (key === 'traceparent' ? carrier.traceparent : key === 'tracestate' ? carrier.tracestate : undefined),
};

/**
 * Starts tracing from the standard `OTEL_*` variables (the OTLP exporter for OTEL_EXPORTER_OTLP_PROTOCOL; the sampler
 * from `OTEL_TRACES_SAMPLER`).
 * Returns undefined, starting nothing, when `OTEL_SDK_DISABLED=true` or no OTLP endpoint is set.
 *
 * Two tracer providers, one per thread (docs/decisions/0007-spans-exported-from-a-worker-thread.md, 0018): this
 * thread's decides sampling, propagates context and records the IdP fetch spans; the export worker's (started with
 * `env` as its environment) exports. Finished spans cross as plain records. Validation spans, the one span per
 * request, are recorded here without an SDK span when tokenwatch knows the sampler, and the worker replays them.
 */
export async function startTracing(env: NodeJS.ProcessEnv, logger: Logger): Promise<Tracing | undefined> {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || !endpoint) return undefined;
  const { protocol, unsupported } = otlpTracesProtocol(env);
  if (unsupported) {
    logger.warn(
      { event: 'tracing_protocol_unsupported', variable: unsupported.variable, value: unsupported.value, protocol },
      `${unsupported.variable} names no OTLP protocol tokenwatch exports with (http/protobuf, http/json, grpc); using ${protocol}`,
    );
  }
  let shipper: SpanShipper;
  try {
    shipper = await SpanShipper.start(env, { protocol }, logger);
  } catch (error) {
    // Tracing is observability: without it tokenwatch still decides every request.
    logger.error({ event: 'tracing_not_started', reason: (error as Error).message }, 'OpenTelemetry tracing could not start; running without it');
    return undefined;
  }
  try {
    return await startRequestThreadSdk(env, logger, endpoint, protocol, shipper);
  } catch (error) {
    await shipper.shutdown();
    throw error;
  }
}

/**
 * This thread's SDK: a tracer provider for sampling and the IdP fetch spans, every finished span handed to `shipper`.
 * Traces only, and only what a tracer needs: tokenwatch's metrics are Prometheus's (prom-client), its logs are JSON
 * lines on stdout, and no context manager is installed, because parents are passed explicitly and the default
 * AsyncLocalStorage manager would hook every promise in the process for nothing (bench/ telemetry suite).
 */
async function startRequestThreadSdk(
  env: NodeJS.ProcessEnv,
  logger: Logger,
  endpoint: string,
  protocol: OtlpProtocol,
  shipper: SpanShipper,
): Promise<Tracing> {
  // Loaded only when tracing is on.
  const [{ BasicTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler }, { W3CTraceContextPropagator }, { routeSdkDiagnostics }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/core'),
    import('./sdk-diagnostics.js'),
  ]);
  routeSdkDiagnostics(env);
  const plan = samplingPlan(env);
  let sampler: Sampler | undefined;
  if (plan) {
    const root = new TraceIdRatioBasedSampler(plan.rootRatio);
    sampler = plan.parentBased ? new ParentBasedSampler({ root }) : root;
  }
  // The sampler tokenwatch's fast path decides with (see trace-sampling.ts); the provider's own choice from the same
  // variables when tokenwatch does not know the sampler's name. Span limits come from OTEL_SPAN_* as well.
  const provider = new BasicTracerProvider({ spanProcessors: [new ShippingSpanProcessor(shipper)], ...(sampler ? { sampler } : {}) });
  trace.setGlobalTracerProvider(provider);
  logger.info({ event: 'tracing_started', endpoint: endpointForLog(endpoint), protocol, sampler: plan?.name ?? env.OTEL_TRACES_SAMPLER }, 'OpenTelemetry tracing on');
  return {
    validation: new OtelValidationTracing(trace.getTracer(TRACER_NAME), plan, shipper, new W3CTraceContextPropagator()),
    shutdown: async () => {
      await provider.shutdown();
      await shipper.shutdown();
    },
  };
}

/**
 * The endpoint as it may be logged: a URL's user and password (a collector's basic auth can sit there) and its query
 * are left out; something that is not a URL is not logged at all.
 */
export function endpointForLog(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.username || url.password ? '[redacted]@' : ''}${url.host}${url.pathname}`;
  } catch {
    return '[not a URL]';
  }
}

/** Hands every sampled span the SDK records in this thread to the export worker, as a record. */
class ShippingSpanProcessor implements SpanProcessor {
  constructor(private readonly shipper: SpanShipper) {}

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    // Recorded but not sampled (a sampler's RECORD decision) is not exported, as with the SDK's batch processor.
    if ((span.spanContext().traceFlags & 1) === 0) return;
    this.shipper.add(recordOfSdkSpan(span));
  }

  forceFlush(): Promise<void> {
    this.shipper.flush();
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.shipper.flush();
    return Promise.resolve();
  }
}

class OtelValidationTracing implements ValidationTracing {
  private readonly rootUpperBound: number | undefined;

  constructor(
    private readonly tracer: Tracer,
    private readonly plan: SamplingPlan | undefined,
    private readonly shipper: SpanShipper,
    /** W3C trace context only, as the fast path reads it: the request's carrier offers no other headers. */
    private readonly propagator: TextMapPropagator<TraceHeaders>,
  ) {
    this.rootUpperBound = plan ? ratioUpperBound(plan.rootRatio) : undefined;
  }

  start(incoming: TraceHeaders, startTime: number): ValidationSpan {
    if (this.plan) {
      if (!incoming.traceparent) {
        // A root span: decided on its trace id, as TraceIdRatioBasedSampler would.
        const words = randomTraceWords();
        if (accumulate(words) >= this.rootUpperBound!) return new UnrecordedSpan(words, undefined);
        return new ShippedSpan(wordsToHex(words), randomSpanId(), undefined, undefined, startTime);
      }
      // ParentBasedSampler follows a remote parent's flag; the other samplers decide on the parent's trace id. A
      // header only the SDK's propagator can judge (a later version's extra fields) goes to the SDK.
      const parent = parseTraceparent(incoming.traceparent);
      if (parent) {
        const sampled = this.plan.parentBased ? parent.sampled : accumulateHex(parent.traceId) < this.rootUpperBound!;
        if (!sampled) return new UnrecordedSpan(undefined, parent.traceId);
        return new ShippedSpan(parent.traceId, randomSpanId(), parent.spanId, incoming.tracestate, startTime);
      }
    }
    const context = incoming.traceparent ? this.propagator.extract(ROOT_CONTEXT, incoming, HEADER_GETTER) : ROOT_CONTEXT;
    return this.record(context, startTime);
  }

  end(span: ValidationSpan, record: ValidationRecord): void {
    if (span instanceof ShippedSpan) this.shipper.add(span.finish(record));
    else if (span instanceof RecordedSpan) span.finish(record);
  }

  private record(context: Context, startTime: number): ValidationSpan {
    const span = this.tracer.startSpan(VALIDATION_SPAN, { kind: SpanKind.INTERNAL, startTime }, context);
    return span.isRecording() ? new RecordedSpan(span) : new UnrecordedSpan(undefined, span.spanContext().traceId, span.spanContext().spanId);
  }
}

/** A span the sampler dropped: only ids, turned into hex when read. */
class UnrecordedSpan implements ValidationSpan {
  readonly recording = false;
  private traceHex: string | undefined;

  constructor(
    private readonly traceWords: readonly [number, number, number, number] | undefined,
    traceId: string | undefined,
    private spanId: string | undefined = undefined,
  ) {
    this.traceHex = traceId;
  }

  get traceId(): string {
    return (this.traceHex ??= wordsToHex(this.traceWords!));
  }

  traceparent(): string {
    return `00-${this.traceId}-${(this.spanId ??= randomSpanId())}-00`;
  }
}

/**
 * A sampled validation span recorded without the SDK: ids, parent and start time until the validation ends, then
 * one flat record for the export worker, whose SDK replays it. No SDK span lives on the request thread's heap until
 * its batch is exported (docs/decisions/0007-spans-exported-from-a-worker-thread.md).
 */
class ShippedSpan implements ValidationSpan {
  readonly recording = true;

  constructor(
    readonly traceId: string,
    readonly spanId: string,
    readonly parentSpanId: string | undefined,
    readonly traceState: string | undefined,
    private readonly startTime: number,
  ) {}

  traceparent(): string {
    return `00-${this.traceId}-${this.spanId}-01`;
  }

  finish(record: ValidationRecord): ValidationSpanRecord {
    return validationSpanRecord(this, this.startTime, performance.timeOrigin + performance.now(), record);
  }
}

/** A validation span the SDK records (a sampler tokenwatch does not know, or a traceparent only the SDK can read). */
class RecordedSpan implements ValidationSpan {
  readonly recording = true;
  readonly traceId: string;

  constructor(private readonly span: Span) {
    this.traceId = span.spanContext().traceId;
  }

  traceparent(): string {
    const context = this.span.spanContext();
    return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 1).toString(16).padStart(2, '0')}`;
  }

  finish(record: ValidationRecord): void {
    const span = this.span;
    span.setAttributes(validationAttributes(record));
    if (record.failure) span.setStatus({ code: SpanStatusCode.ERROR, message: record.failure.reason });
    span.end();
  }
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The trace id of a W3C traceparent, for the audit log even when tracing is off. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (!traceparent) return undefined;
  const match = TRACEPARENT.exec(traceparent);
  return match && match[1] !== '00000000000000000000000000000000' ? match[1] : undefined;
}
