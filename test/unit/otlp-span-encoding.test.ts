import { SpanKind, SpanStatusCode, type AttributeValue, type Attributes } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resources, tracing } from '@opentelemetry/sdk-node';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { OtlpSpanEncoder, spanAttributeLimitsFromEnv, type SpanAttributeLimits } from '../../src/observability/tracing/export/otlp-span-encoding.js';
import { recordOfValidation, validationRecord, type SpanRecord, type ValidationSpanFacts } from '../../src/observability/tracing/span-record.js';
import { SpanReplayer } from '../../src/observability/tracing/export/span-replay.js';
import { decodeTraceRequest } from '../support/otlp-protobuf.js';
import { validationFacts } from '../support/span-facts.js';

/**
 * The encoder must write what the SDK writes: each record is also replayed through a real SDK tracer provider (the
 * export worker's JSON path) and serialised by the SDK's ProtobufTraceSerializer, and the two requests must be the
 * same bytes.
 */

const RESOURCE_ATTRIBUTES: Attributes = {
  'service.name': 'tokenwatch',
  'deployment.environment': 'test',
  'process.pid': 4242,
  'process.command_args': ['node', 'dist/cli.js', 'run'],
  'host.arch': 'amd64',
  'telemetry.sdk.language': 'nodejs',
  'x.ratio': 0.25,
  'x.flag': true,
};

const NO_LIMITS: SpanAttributeLimits = { count: 128, valueLength: Infinity };

function sdkRequest(records: readonly SpanRecord[], limits: SpanAttributeLimits, attributes: Attributes = RESOURCE_ATTRIBUTES): Uint8Array {
  const ended: tracing.ReadableSpan[] = [];
  let provider: tracing.BasicTracerProvider | undefined;
  const replayer = new SpanReplayer(() => provider!);
  provider = new tracing.BasicTracerProvider({
    resource: resources.resourceFromAttributes(attributes),
    sampler: new tracing.AlwaysOnSampler(),
    idGenerator: replayer.idGenerator,
    spanLimits: { attributeCountLimit: limits.count, attributeValueLengthLimit: limits.valueLength },
    spanProcessors: [{ onStart: () => {}, onEnd: (span) => void ended.push(span), forceFlush: async () => {}, shutdown: async () => {} }],
  });
  for (const record of records) replayer.replay(record);
  return ProtobufTraceSerializer.serializeRequest(ended)!;
}

function encodedRequest(records: readonly SpanRecord[], limits: SpanAttributeLimits, attributes: Attributes = RESOURCE_ATTRIBUTES): Uint8Array {
  return new OtlpSpanEncoder({ attributes }, limits).request(records);
}

const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`)).filter((id) => !/^0+$/.test(id));
const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'é', '😀', '\ud800', 'a\u0000b', 'x'.repeat(300)) },
);
const attributeValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  text,
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.array(text, { maxLength: 4 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.array(fc.boolean(), { maxLength: 3 }),
);
const attributes = fc.dictionary(fc.string({ maxLength: 16 }), attributeValue, { maxKeys: 12 });
/** Epoch milliseconds with a fraction, as the request thread records them (performance.timeOrigin + now()). */
const epochMillis = fc.double({ min: 1_600_000_000_000, max: 4_000_000_000_000, noNaN: true });

const spanRecord: fc.Arbitrary<SpanRecord> = fc
  .record({
    scope: fc.constantFrom('tokenwatch', 'other-scope', ''),
    name: fc.oneof(fc.constantFrom('token.validate', 'idp.jwks'), text),
    kind: fc.constantFrom(SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER),
    traceId: hex(32),
    spanId: hex(16),
    parentSpanId: fc.option(hex(16), { nil: undefined }),
    parentRemote: fc.boolean(),
    traceState: fc.option(fc.constantFrom('vendor=opaque,other=1', 'a=1, b=2', 'bad key=1,good=2', '', 'x'.repeat(600)), { nil: undefined }),
    startTime: epochMillis,
    duration: fc.double({ min: -5, max: 10_000, noNaN: true }),
    attributes,
    statusCode: fc.constantFrom(SpanStatusCode.UNSET, SpanStatusCode.OK, SpanStatusCode.ERROR),
    statusMessage: fc.option(text, { nil: undefined }),
  })
  .map(({ duration, ...record }) => ({ ...record, endTime: record.startTime + duration }));

const limits = fc.constantFrom<SpanAttributeLimits>(NO_LIMITS, { count: 3, valueLength: 5 }, { count: 0, valueLength: 0 }, { count: 128, valueLength: -1 });

describe('OtlpSpanEncoder writes the bytes the SDK writes for the same records', () => {
  test('any span record, alone or with others, under any attribute limits', () => {
    fc.assert(
      fc.property(fc.array(spanRecord, { minLength: 1, maxLength: 5 }), limits, (records, limit) => {
        expect(Buffer.from(encodedRequest(records, limit)).toString('hex')).toBe(Buffer.from(sdkRequest(records, limit)).toString('hex'));
      }),
      { numRuns: 300 },
    );
  });

  test('validation spans, as the request thread sends them; cached pairs are reused across requests', () => {
    const facts = (overrides: Partial<ValidationSpanFacts> = {}) =>
      validationFacts({ issuer: 'https://idp.example.com/realms/prod', scopes: ['read:orders', 'write:orders'], ...overrides });
    const ids = (n: number) => ({ traceId: n.toString(16).padStart(32, 'a'), spanId: n.toString(16).padStart(16, 'b'), parentSpanId: undefined, traceState: undefined });
    const records = [
      validationRecord(ids(1), 1_790_000_000_000.25, 1_790_000_000_000.75, facts()),
      validationRecord(ids(2), 1_790_000_000_001.5, 1_790_000_000_002, facts({ result: 'failure', reason: 'expired', cache: undefined, letThrough: true })),
      validationRecord({ ...ids(3), parentSpanId: '00f067aa0ba902b7', traceState: 'vendor=1' }, 1_790_000_000_003, 1_790_000_000_004, facts({ scopes: [] })),
    ].map(recordOfValidation);
    const encoder = new OtlpSpanEncoder({ attributes: RESOURCE_ATTRIBUTES }, NO_LIMITS);
    for (let round = 0; round < 3; round += 1) {
      expect(Buffer.from(encoder.request(records)).toString('hex')).toBe(Buffer.from(sdkRequest(records, NO_LIMITS)).toString('hex'));
    }
    const [success, failure, child] = decodeTraceRequest(encoder.request(records));
    expect(success).toMatchObject({ name: 'token.validate', kind: 1, flags: 0x101, attributes: { 'oauth.scopes': ['read:orders', 'write:orders'], 'tokenwatch.cache': 'hit' } });
    expect(failure).toMatchObject({ status: { code: SpanStatusCode.ERROR, message: 'expired' }, attributes: { 'oauth.failure.reason': 'expired', 'tokenwatch.let_through': true } });
    expect(child).toMatchObject({ parentSpanId: '00f067aa0ba902b7', traceState: 'vendor=1', flags: 0x301 });
  });

  test('the cache of encoded pairs is bounded: past it, it starts over and the bytes stay right', () => {
    const encoder = new OtlpSpanEncoder({ attributes: {} }, NO_LIMITS);
    const record = (index: number): SpanRecord => ({
      scope: 'tokenwatch',
      name: 'token.validate',
      kind: SpanKind.INTERNAL,
      traceId: 'ab'.repeat(16),
      spanId: 'cd'.repeat(8),
      parentSpanId: undefined,
      parentRemote: false,
      traceState: undefined,
      startTime: 1_790_000_000_000,
      endTime: 1_790_000_000_001,
      attributes: { 'oauth.client_id': `client-${index}`, flag: index % 2 === 0 },
      statusCode: SpanStatusCode.UNSET,
      statusMessage: undefined,
    });
    for (let index = 0; index < 5000; index += 1) encoder.request([record(index)]);
    const cached = encoder as unknown as { cachedPairs: number };
    expect(cached.cachedPairs).toBeLessThanOrEqual(4096);
    expect(Buffer.from(encoder.request([record(7)])).equals(Buffer.from(sdkRequest([record(7)], NO_LIMITS, {})))).toBe(true);
  });
});

describe('spanAttributeLimitsFromEnv reads the variables the SDK reads', () => {
  test('span limits before general ones, then the SDK defaults; unreadable values are ignored', () => {
    expect(spanAttributeLimitsFromEnv({})).toEqual({ count: 128, valueLength: Infinity });
    expect(spanAttributeLimitsFromEnv({ OTEL_ATTRIBUTE_COUNT_LIMIT: '10', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '64' })).toEqual({ count: 10, valueLength: 64 });
    expect(
      spanAttributeLimitsFromEnv({
        OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '5',
        OTEL_ATTRIBUTE_COUNT_LIMIT: '10',
        OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: ' ',
        OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: 'lots',
      }),
    ).toEqual({ count: 5, valueLength: Infinity });
  });
});
