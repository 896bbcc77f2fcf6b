import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import type { Logger } from './logger.js';

/** The W3C trace context of an incoming request, as its headers carried it. */
export interface IncomingTraceContext {
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}

export interface ValidationSpanFacts {
  readonly result: 'success' | 'failure';
  readonly reason: string | undefined;
  readonly issuer: string | undefined;
  readonly clientId: string | undefined;
  readonly grantType: string | undefined;
  readonly scopes: readonly string[] | undefined;
  readonly kid: string | undefined;
  readonly cache: 'hit' | 'miss' | undefined;
  readonly route: string;
  readonly enforcement: string;
  readonly letThrough: boolean;
  readonly description: string | undefined;
}

/** Spans for token validation. Absent (undefined) when tracing is off, so the request path does no tracing work at all. */
export interface ValidationTracing {
  start(incoming: IncomingTraceContext, startTime: number): Span;
  end(span: Span, facts: ValidationSpanFacts): void;
  /** `traceparent` for the request to the upstream: the validation span as parent. */
  traceparentOf(span: Span): string | undefined;
}

export interface Tracing {
  readonly validation: ValidationTracing;
  shutdown(): Promise<void>;
}

const TRACER_NAME = 'tokenwatch';

const HEADER_GETTER: TextMapGetter<IncomingTraceContext> = {
  keys: () => ['traceparent', 'tracestate'],
  get: (carrier, key) => (key === 'traceparent' ? carrier.traceparent : key === 'tracestate' ? carrier.tracestate : undefined),
};

/**
 * Starts the OpenTelemetry SDK from the standard `OTEL_*` variables (OTLP/HTTP exporter; the sampler from
 * `OTEL_TRACES_SAMPLER`). Returns undefined, starting nothing, when `OTEL_SDK_DISABLED=true` or no OTLP endpoint is set.
 */
export async function startTracing(env: NodeJS.ProcessEnv, logger: Logger): Promise<Tracing | undefined> {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || !endpoint) return undefined;
  const [{ NodeSDK }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || 'tokenwatch',
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [],
    // Parents are passed explicitly, never read from an active context: the default AsyncLocalStorage context
    // manager would hook every promise in the process for nothing (bench/ telemetry suite).
    contextManager: null as unknown as undefined,
  });
  sdk.start();
  logger.info({ event: 'tracing_started', endpoint }, 'OpenTelemetry tracing on');
  return { validation: new OtelValidationTracing(trace.getTracer(TRACER_NAME)), shutdown: () => sdk.shutdown() };
}

class OtelValidationTracing implements ValidationTracing {
  constructor(private readonly tracer: Tracer) {}

  start(incoming: IncomingTraceContext, startTime: number): Span {
    const parent = incoming.traceparent ? propagation.extract(ROOT_CONTEXT, incoming, HEADER_GETTER) : ROOT_CONTEXT;
    return this.tracer.startSpan('token.validate', { kind: SpanKind.INTERNAL, startTime }, parent);
  }

  end(span: Span, facts: ValidationSpanFacts): void {
    if (span.isRecording()) {
      span.setAttributes({
        'oauth.validation.result': facts.result,
        'tokenwatch.cache': facts.cache,
        'tokenwatch.route': facts.route,
        'tokenwatch.enforcement': facts.enforcement,
      });
      if (facts.issuer !== undefined) span.setAttribute('oauth.issuer', facts.issuer);
      if (facts.clientId !== undefined) span.setAttribute('oauth.client_id', facts.clientId);
      if (facts.grantType !== undefined) span.setAttribute('oauth.grant_type', facts.grantType);
      if (facts.scopes !== undefined) span.setAttribute('oauth.scopes', [...facts.scopes]);
      if (facts.kid !== undefined) span.setAttribute('jwt.kid', facts.kid);
      if (facts.reason !== undefined) {
        span.setAttribute('oauth.failure.reason', facts.reason);
        span.setAttribute('tokenwatch.let_through', facts.letThrough);
        span.setStatus({ code: SpanStatusCode.ERROR, message: facts.reason });
      }
    }
    span.end();
  }

  traceparentOf(span: Span): string | undefined {
    const context = span.spanContext();
    if (!trace.isSpanContextValid(context)) return undefined;
    return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 1).toString(16).padStart(2, '0')}`;
  }
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The trace id of a W3C traceparent, for the audit log even when tracing is off. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (!traceparent) return undefined;
  const match = TRACEPARENT.exec(traceparent);
  return match && match[1] !== '00000000000000000000000000000000' ? match[1] : undefined;
}

/** Spans around IdP fetches (discovery, JWKS); the no-op API when tracing is off. */
export function idpFetchTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}
