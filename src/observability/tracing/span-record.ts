import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
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

/** What a validation span says: the validation's outcome, as the gate reports it. */
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

export const VALIDATION_SCOPE = 'tokenwatch';
export const VALIDATION_SPAN = 'token.validate';

/**
 * A sampled validation span as the request thread sends it: ids, times and facts in a flat array. Copying it to the
 * worker costs a fraction of a SpanRecord's attribute object (whose names are the same every time); the worker
 * builds the attributes (recordOfValidation).
 */
export type ValidationRecord = readonly [
  traceId: string,
  spanId: string,
  parentSpanId: string | undefined,
  traceState: string | undefined,
  startTime: number,
  endTime: number,
  result: 'success' | 'failure',
  reason: string | undefined,
  issuer: string | undefined,
  clientId: string | undefined,
  grantType: string | undefined,
  scopes: readonly string[] | undefined,
  kid: string | undefined,
  cache: 'hit' | 'miss' | undefined,
  route: string,
  enforcement: string,
  letThrough: boolean,
];

/** What the request thread sends the export worker: a record of any span, or the flat record of a validation span. */
export type ShippedRecord = SpanRecord | ValidationRecord;

export function validationRecord(
  ids: { traceId: string; spanId: string; parentSpanId: string | undefined; traceState: string | undefined },
  startTime: number,
  endTime: number,
  facts: ValidationSpanFacts,
): ValidationRecord {
  return [
    ids.traceId,
    ids.spanId,
    ids.parentSpanId,
    ids.traceState,
    startTime,
    endTime,
    facts.result,
    facts.reason,
    facts.issuer,
    facts.clientId,
    facts.grantType,
    facts.scopes,
    facts.kid,
    facts.cache,
    facts.route,
    facts.enforcement,
    facts.letThrough,
  ];
}

/** The full record of a validation span, in the worker. */
export function recordOfValidation(record: ValidationRecord): SpanRecord {
  const [traceId, spanId, parentSpanId, traceState, startTime, endTime, result, reason, issuer, clientId, grantType, scopes, kid, cache, route, enforcement, letThrough] =
    record;
  return {
    scope: VALIDATION_SCOPE,
    name: VALIDATION_SPAN,
    kind: SpanKind.INTERNAL,
    traceId,
    spanId,
    parentSpanId,
    parentRemote: parentSpanId !== undefined,
    traceState,
    startTime,
    endTime,
    attributes: validationAttributes({ result, reason, issuer, clientId, grantType, scopes, kid, cache, route, enforcement, letThrough, description: undefined }),
    statusCode: reason !== undefined ? SpanStatusCode.ERROR : SpanStatusCode.UNSET,
    statusMessage: reason,
  };
}

/** The validation span's attributes; absent facts are left out. */
export function validationAttributes(facts: ValidationSpanFacts): Attributes {
  const attributes: Attributes = {
    'oauth.validation.result': facts.result,
    'tokenwatch.route': facts.route,
    'tokenwatch.enforcement': facts.enforcement,
  };
  if (facts.cache !== undefined) attributes['tokenwatch.cache'] = facts.cache;
  if (facts.issuer !== undefined) attributes['oauth.issuer'] = facts.issuer;
  if (facts.clientId !== undefined) attributes['oauth.client_id'] = facts.clientId;
  if (facts.grantType !== undefined) attributes['oauth.grant_type'] = facts.grantType;
  if (facts.scopes !== undefined) attributes['oauth.scopes'] = [...facts.scopes];
  if (facts.kid !== undefined) attributes['jwt.kid'] = facts.kid;
  if (facts.reason !== undefined) {
    attributes['oauth.failure.reason'] = facts.reason;
    attributes['tokenwatch.let_through'] = facts.letThrough;
  }
  return attributes;
}
