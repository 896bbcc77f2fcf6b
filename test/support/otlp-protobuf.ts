import type { ReceivedSpan } from './otlp-receiver.js';

/**
 * Reads an OTLP ExportTraceServiceRequest in the protobuf encoding (opentelemetry-proto, trace/v1 and common/v1):
 * the fields tokenwatch's spans use, decoded from the wire format by field number. For the test receiver only.
 */

/** A message's fields: field number to every value it had, in order (varints as bigint, the rest as bytes). */
type Fields = Map<number, Array<bigint | Uint8Array>>;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

function readFields(bytes: Uint8Array): Fields {
  const fields: Fields = new Map();
  let at = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= bytes.length) throw new Error('protobuf: truncated varint');
      const byte = bytes[at++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  const take = (length: number): Uint8Array => {
    if (at + length > bytes.length) throw new Error('protobuf: truncated field');
    const value = bytes.subarray(at, at + length);
    at += length;
    return value;
  };
  while (at < bytes.length) {
    const tag = varint();
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    let value: bigint | Uint8Array;
    if (wire === WIRE_VARINT) value = varint();
    else if (wire === WIRE_FIXED64) value = take(8);
    else if (wire === WIRE_LENGTH_DELIMITED) value = take(Number(varint()));
    else if (wire === WIRE_FIXED32) value = take(4);
    else throw new Error(`protobuf: wire type ${wire} of field ${field} is not used by OTLP`);
    const values = fields.get(field);
    if (values) values.push(value);
    else fields.set(field, [value]);
  }
  return fields;
}

const all = (fields: Fields, field: number) => (fields.get(field) ?? []) as Uint8Array[];
const first = (fields: Fields, field: number) => fields.get(field)?.[0];
const text = (value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : undefined);
const hex = (value: unknown) => (value instanceof Uint8Array && value.length > 0 ? Buffer.from(value).toString('hex') : undefined);
const fixed64 = (value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).readBigUInt64LE(0) : 0n);
const fixed32 = (value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).readUInt32LE(0) : 0);
const varintNumber = (value: unknown) => (typeof value === 'bigint' ? Number(BigInt.asIntN(64, value)) : undefined);

/** common.v1.AnyValue: string 1, bool 2, int 3, double 4, array 5 (ArrayValue: values 1). */
function anyValue(bytes: Uint8Array): unknown {
  const fields = readFields(bytes);
  if (fields.has(1)) return text(first(fields, 1));
  if (fields.has(2)) return first(fields, 2) === 1n;
  if (fields.has(3)) return varintNumber(first(fields, 3));
  if (fields.has(4)) return Buffer.from(first(fields, 4) as Uint8Array).readDoubleLE(0);
  if (fields.has(5)) return all(readFields(first(fields, 5) as Uint8Array), 1).map(anyValue);
  return undefined;
}

/** repeated common.v1.KeyValue (key 1, value 2). */
function attributes(list: Uint8Array[]): Record<string, unknown> {
  const decoded: Record<string, unknown> = {};
  for (const bytes of list) {
    const keyValue = readFields(bytes);
    const value = first(keyValue, 2);
    decoded[text(first(keyValue, 1)) ?? ''] = value instanceof Uint8Array ? anyValue(value) : undefined;
  }
  return decoded;
}

/**
 * ExportTraceServiceRequest: resource_spans 1. ResourceSpans: resource 1 (attributes 1), scope_spans 2. ScopeSpans:
 * scope 1 (name 1), spans 2. Span: trace_id 1, span_id 2, trace_state 3, parent_span_id 4, name 5, kind 6,
 * start 7, end 8, attributes 9, status 15 (message 2, code 3), flags 16.
 */
export function decodeTraceRequest(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of all(readFields(body), 1).map(readFields)) {
    const resourceBytes = first(resourceSpans, 1);
    const resource = resourceBytes instanceof Uint8Array ? attributes(all(readFields(resourceBytes), 1)) : {};
    for (const scopeSpans of all(resourceSpans, 2).map(readFields)) {
      const scopeBytes = first(scopeSpans, 1);
      const scope = scopeBytes instanceof Uint8Array ? (text(first(readFields(scopeBytes), 1)) ?? '') : '';
      for (const span of all(scopeSpans, 2).map(readFields)) {
        const statusBytes = first(span, 15);
        const status = statusBytes instanceof Uint8Array ? readFields(statusBytes) : new Map();
        const message = text(first(status, 2));
        const code = varintNumber(first(status, 3));
        spans.push({
          name: text(first(span, 5)) ?? '',
          traceId: hex(first(span, 1)) ?? '',
          spanId: hex(first(span, 2)) ?? '',
          parentSpanId: hex(first(span, 4)),
          kind: varintNumber(first(span, 6)) ?? 0,
          traceState: text(first(span, 3)) || undefined,
          startTimeUnixNano: fixed64(first(span, 7)),
          endTimeUnixNano: fixed64(first(span, 8)),
          flags: fixed32(first(span, 16)),
          scope,
          resource,
          status: { ...(code ? { code } : {}), ...(message ? { message } : {}) },
          attributes: attributes(all(span, 9)),
        });
      }
    }
  }
  return spans;
}
