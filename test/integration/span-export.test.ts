import { hostname } from 'node:os';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { OTLP_PROTOCOLS, type OtlpProtocol } from '../../src/observability/tracing/otlp-protocol.js';
import type { SpanRecord, ValidationSpanRecord } from '../../src/observability/tracing/span-record.js';
import { SpanShipper, spanShippingStats } from '../../src/observability/tracing/span-shipper.js';
import { VERSION } from '../../src/version.js';
import { eventually } from '../support/eventually.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

let receiver: OtlpReceiver;
let grpcReceiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  grpcReceiver = await startOtlpReceiver({ grpc: true });
});

afterAll(async () => {
  await receiver?.stop();
  await grpcReceiver?.stop();
});

/** The worker's whole environment: nothing is read from this process's own. */
const workerEnv = (endpoint = receiver.endpoint) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_BSP_SCHEDULE_DELAY: '50',
  OTEL_SERVICE_NAME: 'span-export-test',
  OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=span-export-test',
});

function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

let nextId = 1;
function record(overrides: Partial<SpanRecord> = {}): SpanRecord {
  const id = (nextId++).toString(16).padStart(16, '0');
  return {
    scope: 'tokenwatch',
    name: 'token.validate',
    kind: SpanKind.INTERNAL,
    traceId: `${id}${id}`,
    spanId: id,
    parentSpanId: undefined,
    parentRemote: false,
    traceState: undefined,
    startTime: 1_790_000_000_000.25,
    endTime: 1_790_000_000_001.75,
    attributes: { 'oauth.validation.result': 'success' },
    statusCode: SpanStatusCode.UNSET,
    statusMessage: undefined,
    ...overrides,
  };
}

const spansOf = (traceId: string, from = receiver) => from.spans.filter((span) => span.traceId === traceId);
const PROTOBUF: OtlpProtocol = 'http/protobuf';
const data = (protocol: OtlpProtocol = PROTOBUF) => ({ protocol });

/** What each protocol's exporter sends: the content type (or gRPC method) the receiver saw. */
const WIRE: Record<OtlpProtocol, string> = {
  'http/protobuf': 'application/x-protobuf',
  'http/json': 'application/json',
  grpc: 'application/grpc',
};

describe('the export worker', () => {
  test.each(OTLP_PROTOCOLS.map((protocol) => [protocol]))('over %s, exports every record as sent: ids, parent, trace state, kind, times, status, attributes, scope and resource', async (protocol) => {
    const { logger } = captureLogger();
    const to = protocol === 'grpc' ? grpcReceiver : receiver;
    const requestsBefore = to.contentTypes.length;
    const shipper = await SpanShipper.start(workerEnv(to.endpoint), data(protocol), logger);
    const root = record({ attributes: { 'oauth.scopes': ['read:orders', 'write:orders'], 'tokenwatch.let_through': false } });
    const child = record({
      parentSpanId: 'b7ad6b7169203331',
      parentRemote: true,
      traceState: 'vendor=opaque,other=1',
      statusCode: SpanStatusCode.ERROR,
      statusMessage: 'expired',
      attributes: { 'oauth.failure.reason': 'expired', 'oauth.validation.result': 'failure' },
    });
    const fetch = record({ scope: 'another-scope', name: 'idp.jwks', kind: SpanKind.CLIENT });
    for (const each of [root, child, fetch]) shipper.add(each);
    await shipper.shutdown();

    expect(new Set(to.contentTypes.slice(requestsBefore))).toEqual(new Set([WIRE[protocol]]));
    const [exportedRoot] = spansOf(root.traceId, to);
    expect(exportedRoot).toMatchObject({
      name: 'token.validate',
      spanId: root.spanId,
      parentSpanId: undefined,
      kind: SpanKind.INTERNAL + 1,
      scope: 'tokenwatch',
      attributes: { 'oauth.scopes': ['read:orders', 'write:orders'], 'tokenwatch.let_through': false },
    });
    expect(exportedRoot!.status.code ?? 0).toBe(0);
    // Milliseconds with a fraction, to the microsecond.
    expect(exportedRoot!.startTimeUnixNano).toBe(1_790_000_000_000_250_000n);
    expect(exportedRoot!.endTimeUnixNano).toBe(1_790_000_000_001_750_000n);
    expect(exportedRoot!.resource).toMatchObject({
      'service.name': 'span-export-test',
      'service.version': VERSION,
      'deployment.environment': 'span-export-test',
      'telemetry.sdk.language': 'nodejs',
      'process.runtime.name': 'nodejs',
      'process.pid': process.pid,
      'host.name': hostname(),
    });

    const [exportedChild] = spansOf(child.traceId, to);
    expect(exportedChild).toMatchObject({
      spanId: child.spanId,
      parentSpanId: 'b7ad6b7169203331',
      traceState: 'vendor=opaque,other=1',
      status: { code: SpanStatusCode.ERROR, message: 'expired' },
      attributes: { 'oauth.failure.reason': 'expired', 'oauth.validation.result': 'failure' },
    });
    expect(exportedChild!.flags & 0x300).toBe(0x300);

    expect(spansOf(fetch.traceId, to)[0]).toMatchObject({ name: 'idp.jwks', kind: SpanKind.CLIENT + 1, scope: 'another-scope' });
  });

  test.each([
    ['OTEL_SERVICE_NAME, over OTEL_RESOURCE_ATTRIBUTES', { OTEL_SERVICE_NAME: 'from-service-name', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes' }, 'from-service-name'],
    ['the one in OTEL_RESOURCE_ATTRIBUTES without OTEL_SERVICE_NAME', { OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes' }, 'from-attributes'],
    ['tokenwatch when neither says', {}, 'tokenwatch'],
  ])('the resource\'s service.name is %s', async (_case, variables: NodeJS.ProcessEnv, serviceName) => {
    const { logger } = captureLogger();
    const { OTEL_SERVICE_NAME: _name, OTEL_RESOURCE_ATTRIBUTES: _attributes, ...otherVariables } = workerEnv();
    const shipper = await SpanShipper.start({ ...otherVariables, ...variables }, data(), logger);
    const sent = record();
    shipper.add(sent);
    await shipper.shutdown();
    expect(spansOf(sent.traceId)[0]!.resource['service.name']).toBe(serviceName);
  });

  test('OTEL_RESOURCE_ATTRIBUTES sets service.version over tokenwatch\'s own, and host attributes over the detected ones', async () => {
    const { logger } = captureLogger();
    const shipper = await SpanShipper.start({ ...workerEnv(), OTEL_RESOURCE_ATTRIBUTES: 'service.version=2026.12-orders,host.name=orders-7f9c' }, data(), logger);
    const sent = record();
    shipper.add(sent);
    await shipper.shutdown();
    expect(spansOf(sent.traceId)[0]!.resource).toMatchObject({ 'service.version': '2026.12-orders', 'host.name': 'orders-7f9c' });
  });

  test('spans beyond the bound of those waiting for the worker are dropped and counted, never queued', async () => {
    const { logger } = captureLogger();
    const shipper = await SpanShipper.start(workerEnv(), data(), logger, 10);
    const before = spanShippingStats.dropped;
    const sent = Array.from({ length: 50 }, () => record());
    // One turn: the worker has had no chance to take any of them.
    for (const each of sent) shipper.add(each);
    expect(spanShippingStats.dropped - before).toBe(40);
    await shipper.shutdown();
    const exported = sent.filter((each) => spansOf(each.traceId).length === 1);
    expect(exported).toEqual(sent.slice(0, 10));
  });

  test.each([['http/protobuf'], ['grpc']] as const)('over %s, spans the collector refuses are counted as dropped', async (protocol) => {
    const refusing = await startOtlpReceiver({ grpc: protocol === 'grpc', refuse: true });
    try {
      const { logger } = captureLogger();
      const shipper = await SpanShipper.start(workerEnv(refusing.endpoint), data(protocol), logger);
      const before = spanShippingStats.dropped;
      for (let index = 0; index < 3; index += 1) shipper.add(record());
      await shipper.shutdown();
      expect(refusing.requests).toBeGreaterThan(0);
      expect(spanShippingStats.dropped - before).toBe(3);
    } finally {
      await refusing.stop();
    }
  });

  test('full batches go out at once, in requests of OTEL_BSP_MAX_EXPORT_BATCH_SIZE spans; the rest on shutdown', async () => {
    const { logger } = captureLogger();
    const env = { ...workerEnv(), OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2', OTEL_BSP_SCHEDULE_DELAY: '60000' };
    const requestsBefore = receiver.requests;
    const shipper = await SpanShipper.start(env, data(), logger);
    const before = spanShippingStats.dropped;
    const sent = Array.from({ length: 5 }, () => record());
    for (const each of sent) shipper.add(each);
    shipper.flush();
    await eventually(() => sent.slice(0, 4).every((each) => spansOf(each.traceId).length === 1));
    expect(spansOf(sent[4]!.traceId)).toHaveLength(0);
    await shipper.shutdown();
    expect(spansOf(sent[4]!.traceId)).toHaveLength(1);
    expect(receiver.requests - requestsBefore).toBe(3);
    expect(spanShippingStats.dropped - before).toBe(0);
  });

  test('a record the worker cannot read is one span dropped and counted; the others in its batch are exported', async () => {
    const { logger } = captureLogger();
    const shipper = await SpanShipper.start(workerEnv(), data(), logger);
    const before = spanShippingStats.dropped;
    const good = record();
    // A validation span record cut short: the worker cannot tell which attribute a value is.
    const unreadable = ['ab'.repeat(16), 'cd'.repeat(8), undefined, undefined, 1, 2, 'success', '/r'];
    shipper.add(unreadable as unknown as ValidationSpanRecord);
    shipper.add(good);
    await shipper.shutdown();
    expect(spanShippingStats.dropped - before).toBe(1);
    expect(spansOf(good.traceId)).toHaveLength(1);
  });

  test('spans added once shutdown has begun are dropped and counted; the worker stopping then is not an error', async () => {
    const { logger, lines } = captureLogger();
    const shipper = await SpanShipper.start(workerEnv(), data(), logger);
    const before = spanShippingStats.dropped;
    const stopping = shipper.shutdown();
    shipper.add(record());
    await stopping;
    shipper.add(record());
    shipper.flush();
    expect(spanShippingStats.dropped - before).toBe(2);
    expect(lines.filter((line) => line.event === 'tracing_export_stopped')).toHaveLength(0);
  });

  test('a worker that dies is logged once; its spans are dropped and counted, and the request thread goes on', async () => {
    const { logger, lines } = captureLogger();
    const shipper = await SpanShipper.start(workerEnv(), data(), logger);
    await shipper['worker'].terminate();
    await eventually(() => lines.some((line) => line.event === 'tracing_export_stopped'));
    const before = spanShippingStats.dropped;
    shipper.add(record());
    shipper.add(record());
    expect(spanShippingStats.dropped - before).toBe(2);
    await shipper.shutdown();
    expect(lines.filter((line) => line.event === 'tracing_export_stopped')).toHaveLength(1);
  });
});
