import { SpanStatusCode, createTraceState, type AttributeValue, type Attributes } from '@opentelemetry/api';
import type { SpanRecord } from '../span-record.js';

/**
 * OTLP protobuf encoding of span records (opentelemetry-proto trace/v1), for the export worker's protobuf and gRPC
 * exporters (decision 7, update 2). It writes what the SDK's replay and ProtobufTraceSerializer would write for the
 * same record: the same fields, attribute order, limits, flags and times (test/unit/otlp-span-encoding.test.ts
 * requires the same bytes). What differs is the cost: no SDK span is built, and the key-value pairs that repeat
 * from span to span (route, issuer, client, result...) are encoded once and copied. Replaying each record as an SDK
 * span and serialising it took the worker about 20 µs per span.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** The attribute limits of the SDK's spans (OTEL_SPAN_ATTRIBUTE_*, OTEL_ATTRIBUTE_*), as its TracerProvider sets them. */
export interface SpanAttributeLimits {
  readonly count: number;
  readonly valueLength: number;
}

/** The limits the SDK reads from the same variables: per-span first, then the general ones, then 128 and no limit. */
export function spanAttributeLimitsFromEnv(env: NodeJS.ProcessEnv): SpanAttributeLimits {
  return {
    count: numberFromEnv(env, 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT') ?? numberFromEnv(env, 'OTEL_ATTRIBUTE_COUNT_LIMIT') ?? 128,
    valueLength: numberFromEnv(env, 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT') ?? numberFromEnv(env, 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT') ?? Infinity,
  };
}

/** @opentelemetry/core's getNumberFromEnv: blank is unset, anything Number() cannot read is ignored. */
function numberFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  return Number.isNaN(value) ? undefined : value;
}

/** A growable buffer with protobuf's primitive writes. */
class ProtoWriter {
  buffer: Buffer;
  at = 0;

  constructor(capacity: number) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  ensure(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.at + bytes) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }

  /** A varint of a non-negative integer below 2^53. */
  varint(value: number): void {
    this.ensure(10);
    while (value > 0x7f) {
      this.buffer[this.at++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.at++] = value;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  bytes(value: Uint8Array): void {
    this.ensure(value.length);
    this.buffer.set(value, this.at);
    this.at += value.length;
  }

  /** A length-delimited field holding `value`. */
  field(field: number, value: Uint8Array): void {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(value.length);
    this.bytes(value);
  }

  string(field: number, value: string): void {
    this.field(field, Buffer.from(value, 'utf8'));
  }

  /** A hex id as bytes (16 for a trace id, 8 for a span id); what is not hex is written as zero bytes. */
  hexId(field: number, hex: string): void {
    const bytes = hex.length >>> 1;
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(bytes);
    this.ensure(bytes);
    const written = this.buffer.write(hex, this.at, bytes, 'hex');
    if (written < bytes) this.buffer.fill(0, this.at + written, this.at + bytes);
    this.at += bytes;
  }

  fixed32(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32);
    this.ensure(4);
    this.buffer.writeUInt32LE(value >>> 0, this.at);
    this.at += 4;
  }

  fixed64(field: number, value: bigint): void {
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buffer.writeBigUInt64LE(BigInt.asUintN(64, value), this.at);
    this.at += 8;
  }

  /** The bytes written so far, as a new buffer of their own. */
  take(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.at));
  }
}

/** Milliseconds since the epoch in nanoseconds, as the SDK converts them (millisToHrTime, then exact arithmetic). */
function unixNanos(millis: number): bigint {
  return BigInt(Math.trunc(millis / 1000)) * 1_000_000_000n + BigInt(Math.round((millis % 1000) * 1e6));
}

/** Bytes of a varint. */
function varintSize(value: number): number {
  let size = 1;
  while (value > 0x7f) {
    value = Math.floor(value / 0x80);
    size += 1;
  }
  return size;
}

/** Bytes of a length-delimited field of `length` bytes, with a field number below 16 (a one-byte tag). */
function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** Bytes of a whole message written by `write`. */
function message(write: (writer: ProtoWriter) => void, capacity = 64): Buffer {
  const writer = new ProtoWriter(capacity);
  write(writer);
  return writer.take();
}

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** common.v1.AnyValue, as the SDK's serializer writes each attribute value type. */
function writeAnyValue(writer: ProtoWriter, value: unknown): void {
  if (typeof value === 'string') {
    writer.string(1, value);
  } else if (typeof value === 'boolean') {
    writer.tag(2, WIRE_VARINT);
    writer.varint(value ? 1 : 0);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
      writer.tag(3, WIRE_VARINT);
      writeInt64(writer, value);
    } else {
      writer.tag(4, WIRE_FIXED64);
      writer.ensure(8);
      writer.buffer.writeDoubleLE(value, writer.at);
      writer.at += 8;
    }
  } else if (Array.isArray(value)) {
    writer.field(
      5,
      message((array) => {
        for (const item of value) array.field(1, message((any) => writeAnyValue(any, item)));
      }),
    );
  }
  // null, undefined and other types: an empty AnyValue, as the SDK's serializer writes them.
}

/** int64 as a varint: two's complement, ten bytes for a negative value. */
function writeInt64(writer: ProtoWriter, value: number): void {
  if (value >= 0 && value <= Number.MAX_SAFE_INTEGER) return writer.varint(value);
  let bits = BigInt.asUintN(64, BigInt(value));
  writer.ensure(10);
  while (bits > 0x7fn) {
    writer.buffer[writer.at++] = Number(bits & 0x7fn) | 0x80;
    bits >>= 7n;
  }
  writer.buffer[writer.at++] = Number(bits);
}

/** common.v1.KeyValue, without its tag. */
function keyValue(key: string, value: unknown): Buffer {
  return message((writer) => {
    writer.string(1, key);
    writer.field(2, message((any) => writeAnyValue(any, value)));
  });
}

/** Repeated KeyValue pairs that repeat across spans are kept encoded, up to this many; then the cache starts over. */
const MAX_CACHED_PAIRS = 4096;

/** What the encoder needs of the SDK's resource, as the worker's SDK detected and merged it. */
export interface ResourceLike {
  readonly attributes: Attributes;
  readonly schemaUrl?: string | undefined;
}

/**
 * Builds ExportTraceServiceRequest messages from span records. One encoder per worker: it holds the encoded
 * resource and the cache of encoded key-value pairs.
 */
export class OtlpSpanEncoder {
  private readonly resource: Buffer;
  private readonly schemaUrl: string | undefined;
  private readonly stringPairs = new Map<string, Map<string, Buffer>>();
  private readonly otherPairs = new Map<string, Map<string, Buffer>>();
  private cachedPairs = 0;
  /** Encoded Status messages by code and message: a validation's are one per failure reason. */
  private readonly statuses = new Map<string, Buffer>();
  /** Encoded `scope` fields and span names, by name. */
  private readonly scopes = new Map<string, Buffer>();
  private readonly names = new Map<string, Buffer>();
  /** Trace states as the SDK serialises them once parsed (invalid members dropped, at most 32 kept). */
  private readonly traceStates = new Map<string, string>();
  /** Where each span is written before it is copied, with its length, into its scope's spans. */
  private readonly scratch = new ProtoWriter(1024);

  constructor(
    resource: ResourceLike,
    private readonly limits: SpanAttributeLimits,
  ) {
    this.resource = message((writer) => {
      for (const key in resource.attributes) {
        if (Object.hasOwn(resource.attributes, key)) writer.field(1, keyValue(key, resource.attributes[key]));
      }
      writer.tag(2, WIRE_VARINT);
      writer.varint(0);
    }, 1024);
    this.schemaUrl = resource.schemaUrl;
  }

  /** The request for `records`: one ResourceSpans, one ScopeSpans per instrumentation scope, in the order first seen. */
  request(records: readonly SpanRecord[]): Buffer {
    const byScope = new Map<string, ProtoWriter>();
    for (const record of records) {
      let spans = byScope.get(record.scope);
      if (!spans) byScope.set(record.scope, (spans = new ProtoWriter(records.length * 320)));
      this.writeSpan(record);
      spans.field(2, this.scratch.buffer.subarray(0, this.scratch.at));
    }
    // Sizes first, so that the spans are copied only once more, into a buffer of the request's exact length.
    const scopes = [...byScope].map(([name, spans]) => {
      const scope = this.scopeField(name);
      return { scope, spans, size: scope.length + spans.at };
    });
    let resourceSpansSize = fieldSize(this.resource.length);
    for (const { size } of scopes) resourceSpansSize += fieldSize(size);
    const schemaUrl = this.schemaUrl ? Buffer.from(this.schemaUrl, 'utf8') : undefined;
    if (schemaUrl) resourceSpansSize += fieldSize(schemaUrl.length);
    const request = new ProtoWriter(fieldSize(resourceSpansSize));
    request.tag(1, WIRE_LENGTH_DELIMITED);
    request.varint(resourceSpansSize);
    request.field(1, this.resource);
    for (const { scope, spans, size } of scopes) {
      request.tag(2, WIRE_LENGTH_DELIMITED);
      request.varint(size);
      request.bytes(scope);
      request.bytes(spans.buffer.subarray(0, spans.at));
    }
    if (schemaUrl) request.field(3, schemaUrl);
    return request.buffer.length === request.at ? request.buffer : request.take();
  }

  /** ScopeSpans' `scope` field: an InstrumentationScope with only a name, as tokenwatch's tracers have. */
  private scopeField(name: string): Buffer {
    let field = this.scopes.get(name);
    if (!field) {
      if (this.scopes.size >= MAX_CACHED_PAIRS) this.scopes.clear();
      field = message((writer) => writer.field(1, message((scope) => scope.string(1, name))));
      this.scopes.set(name, field);
    }
    return field;
  }

  /** trace.v1.Span, without its tag, into the scratch writer. */
  private writeSpan(record: SpanRecord): void {
    const writer = this.scratch;
    writer.at = 0;
    writer.hexId(1, record.traceId);
    writer.hexId(2, record.spanId);
    // A span's trace state is its parent's: a root span has none.
    const traceState = record.parentSpanId && record.traceState ? this.traceState(record.traceState) : '';
    if (traceState) writer.string(3, traceState);
    if (record.parentSpanId) writer.hexId(4, record.parentSpanId);
    writer.field(5, this.nameBytes(record.name));
    // OTLP's kinds are the API's plus one (0 is unspecified).
    writer.tag(6, WIRE_VARINT);
    writer.varint(record.kind + 1);
    const start = unixNanos(record.startTime);
    const end = unixNanos(record.endTime);
    writer.fixed64(7, start);
    // As Span#end: an end before the start is moved to the start.
    writer.fixed64(8, end < start ? start : end);
    let kept = 0;
    let dropped = 0;
    for (const key in record.attributes) {
      if (!Object.hasOwn(record.attributes, key)) continue;
      const value = record.attributes[key];
      // As Span.setAttribute: no value, no attribute; past the count limit, dropped and counted. A `__proto__` key
      // never reaches an SDK span (sanitizeAttributes copies into a plain object, where it sets the prototype).
      if (value === undefined || value === null || key.length === 0 || key === '__proto__') continue;
      if (kept >= this.limits.count) {
        dropped += 1;
        continue;
      }
      kept += 1;
      writer.field(9, this.pair(key, value));
    }
    writer.tag(10, WIRE_VARINT);
    writer.varint(dropped);
    writer.tag(12, WIRE_VARINT);
    writer.varint(0);
    writer.tag(14, WIRE_VARINT);
    writer.varint(0);
    // As Span#setStatus: only an error keeps its message.
    writer.field(15, this.status(record.statusCode, record.statusCode === SpanStatusCode.ERROR ? record.statusMessage : undefined));
    // Sampled (the worker only gets sampled spans), and whether the parent is known to be remote (OTLP 1.1 flags).
    writer.fixed32(16, 0x01 | 0x100 | (record.parentSpanId && record.parentRemote ? 0x200 : 0));
  }

  private nameBytes(name: string): Buffer {
    let bytes = this.names.get(name);
    if (!bytes) {
      if (this.names.size >= MAX_CACHED_PAIRS) this.names.clear();
      this.names.set(name, (bytes = Buffer.from(name, 'utf8')));
    }
    return bytes;
  }

  private traceState(raw: string): string {
    let serialized = this.traceStates.get(raw);
    if (serialized === undefined) {
      if (this.traceStates.size >= MAX_CACHED_PAIRS) this.traceStates.clear();
      serialized = createTraceState(raw).serialize();
      this.traceStates.set(raw, serialized);
    }
    return serialized;
  }

  private status(code: number, text: string | undefined): Buffer {
    const key = text ? `${code}:${text}` : String(code);
    let bytes = this.statuses.get(key);
    if (!bytes) {
      if (this.statuses.size >= MAX_CACHED_PAIRS) this.statuses.clear();
      bytes = message((status) => {
        if (text) status.string(2, text);
        status.tag(3, WIRE_VARINT);
        status.varint(code);
      });
      this.statuses.set(key, bytes);
    }
    return bytes;
  }

  /**
   * The KeyValue for an attribute, truncated to the value length limit. Strings, booleans and arrays of strings (the
   * scopes) are cached per key and value, the latter two by their JSON text; numbers are not (JSON writes NaN as null).
   */
  private pair(key: string, value: AttributeValue): Buffer {
    const limited = this.truncated(value);
    const isString = typeof limited === 'string';
    if (!isString && typeof limited !== 'boolean' && !(Array.isArray(limited) && limited.every((item) => typeof item === 'string'))) {
      return keyValue(key, limited);
    }
    const cache = isString ? this.stringPairs : this.otherPairs;
    const valueKey = isString ? limited : JSON.stringify(limited);
    let values = cache.get(key);
    if (!values) cache.set(key, (values = new Map()));
    let bytes = values.get(valueKey);
    if (!bytes) {
      if (this.cachedPairs >= MAX_CACHED_PAIRS) {
        this.stringPairs.clear();
        this.otherPairs.clear();
        this.cachedPairs = 0;
        cache.set(key, (values = new Map()));
      }
      values.set(valueKey, (bytes = keyValue(key, limited)));
      this.cachedPairs += 1;
    }
    return bytes;
  }

  /** Span#_truncateToSize: strings, and the strings in an array, cut to the limit (a limit of 0 or less: none). */
  private truncated(value: AttributeValue): AttributeValue {
    const limit = this.limits.valueLength;
    if (!(limit > 0)) return value;
    if (typeof value === 'string') return value.length <= limit ? value : value.substring(0, limit);
    if (Array.isArray(value)) {
      return value.map((item) => (typeof item === 'string' && item.length > limit ? item.substring(0, limit) : item)) as AttributeValue;
    }
    return value;
  }
}
