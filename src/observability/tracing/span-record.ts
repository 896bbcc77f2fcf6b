import { SpanKind, SpanStatusCode, type AttributeValue, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ValidationRecord } from '../../server/gate/ports.js';

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
export function recordOfSdkSpan(span: ReadableSpan): SpanRecord {
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

export const VALIDATION_SCOPE = 'tokenwatch';
export const VALIDATION_SPAN = 'token.validate';

/**
 * The validation span's attributes, in the order they are set, each read from the gate's validation record; an
 * undefined value leaves its attribute out. Both forms of a validation span derive from this one list: the SDK
 * span's attributes, and the flat record that carries a shipped span's values to the export worker.
 */
const VALIDATION_ATTRIBUTES: ReadonlyArray<readonly [key: string, read: (record: ValidationRecord) => AttributeValue | undefined]> = [
  ['oauth.validation.result', (record) => (record.failure ? 'failure' : 'success')],
  ['tokenwatch.route', (record) => record.route.pattern],
  ['tokenwatch.enforcement', (record) => record.route.enforcement],
  ['tokenwatch.cache', (record) => record.cache],
  ['oauth.issuer', (record) => record.issuer],
  ['oauth.client_id', (record) => record.token?.clientId],
  ['oauth.grant_type', (record) => record.token?.grantType],
  ['oauth.scopes', (record) => (record.token ? [...record.token.scopes] : undefined)],
  ['jwt.kid', (record) => record.kid],
  ['oauth.failure.reason', (record) => record.failure?.reason],
  ['tokenwatch.let_through', (record) => (record.failure ? record.letThrough : undefined)],
];

/** Where the failure reason sits among the values: a span with one has error status, the reason as its message. */
const REASON_INDEX = VALIDATION_ATTRIBUTES.findIndex(([key]) => key === 'oauth.failure.reason');

/**
 * A sampled validation span as the request thread sends it: ids, times, then the attribute values in the order of
 * VALIDATION_ATTRIBUTES. Copying it to the worker costs a fraction of a SpanRecord's attribute object, whose keys
 * are the same every time; the worker puts the keys back (recordOfValidationSpan).
 */
export type ValidationSpanRecord = readonly [
  traceId: string,
  spanId: string,
  parentSpanId: string | undefined,
  traceState: string | undefined,
  startTime: number,
  endTime: number,
  ...values: Array<AttributeValue | undefined>,
];

const HEADER_LENGTH = 6;
const VALIDATION_SPAN_RECORD_LENGTH = HEADER_LENGTH + VALIDATION_ATTRIBUTES.length;

/** What the request thread sends the export worker: a record of any span, or the flat record of a validation span. */
export type ShippedRecord = SpanRecord | ValidationSpanRecord;

export function validationSpanRecord(
  ids: { traceId: string; spanId: string; parentSpanId: string | undefined; traceState: string | undefined },
  startTime: number,
  endTime: number,
  record: ValidationRecord,
): ValidationSpanRecord {
  const flat: unknown[] = new Array(VALIDATION_SPAN_RECORD_LENGTH);
  flat[0] = ids.traceId;
  flat[1] = ids.spanId;
  flat[2] = ids.parentSpanId;
  flat[3] = ids.traceState;
  flat[4] = startTime;
  flat[5] = endTime;
  for (let index = 0; index < VALIDATION_ATTRIBUTES.length; index += 1) flat[HEADER_LENGTH + index] = VALIDATION_ATTRIBUTES[index]![1](record);
  return flat as unknown as ValidationSpanRecord;
}

/** The full record of a validation span, in the worker; throws for an array that is not a validation span record. */
export function recordOfValidationSpan(flat: ValidationSpanRecord): SpanRecord {
  if (flat.length !== VALIDATION_SPAN_RECORD_LENGTH) throw new TypeError(`a validation span record has ${VALIDATION_SPAN_RECORD_LENGTH} items, not ${flat.length}`);
  const [traceId, spanId, parentSpanId, traceState, startTime, endTime] = flat;
  const values = flat.slice(HEADER_LENGTH) as Array<AttributeValue | undefined>;
  const reason = values[REASON_INDEX] as string | undefined;
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
    attributes: attributesOf(values),
    statusCode: reason !== undefined ? SpanStatusCode.ERROR : SpanStatusCode.UNSET,
    statusMessage: reason,
  };
}

/** The validation span's attributes for `record`, for a span the SDK records in the request thread. */
export function validationAttributes(record: ValidationRecord): Attributes {
  return attributesOf(VALIDATION_ATTRIBUTES.map(([, read]) => read(record)));
}

function attributesOf(values: ReadonlyArray<AttributeValue | undefined>): Attributes {
  const attributes: Attributes = {};
  for (let index = 0; index < VALIDATION_ATTRIBUTES.length; index += 1) {
    const value = values[index];
    if (value !== undefined) attributes[VALIDATION_ATTRIBUTES[index]![0]] = value;
  }
  return attributes;
}
