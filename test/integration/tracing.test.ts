import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTracing } from '../../src/observability/tracing/tracing.js';
import { createLogger } from '../../src/logging/logger.js';
import { VERSION } from '../../src/version.js';
import { eventually } from '../support/eventually.js';
import { useJwksServer } from '../support/jwks-server.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { startDemoUpstream } from '../../src/dev/demo-upstream.js';
import { bearer, sampleValue, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { withClaims } from '../support/tokens.js';

const jwks = useJwksServer();
let receiver: OtlpReceiver;
let sidecar: TestSidecar;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  // The default protocol, http/protobuf (the other two: span-export.test.ts, tracing-sampling.test.ts).
  delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  process.env.OTEL_SERVICE_NAME = 'tokenwatch-test';
  sidecar = await startTestSidecar({
    issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
    routes: [
      { path: '/api/rollout/**', enforcement: 'report-only' },
      { path: '/api/orders/**', scopes: ['read:orders'] },
    ],
  });
});

afterAll(async () => {
  await sidecar?.shutdown();
  await receiver?.stop();
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';
const traceparent = (traceId = TRACE_ID) => `00-${traceId}-${PARENT_SPAN}-01`;

function spansOfTrace(traceId: string) {
  return receiver.spans.filter((span) => span.traceId === traceId && span.name === 'token.validate');
}

describe('OpenTelemetry spans', () => {
  test('a validation continues the incoming traceparent with one token.validate span carrying the oauth attributes', async () => {
    const token = await jwks().sign({ aud: 'orders-api', sub: 'u1', client_id: 'orders-service', scope: 'read:orders', gty: 'client-credentials' });
    const before = BigInt(Date.now()) * 1_000_000n;
    const response = await sidecar.request('/api/orders/1', {
      headers: { ...bearer(token).headers, traceparent: traceparent(), tracestate: 'vendor=opaque' } as Record<string, string>,
    });
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    expect(response.status).toBe(200);
    const [span] = await eventually(() => spansOfTrace(TRACE_ID).length === 1 && spansOfTrace(TRACE_ID));
    expect(span!.parentSpanId).toBe(PARENT_SPAN);
    expect(span!.traceState).toBe('vendor=opaque');
    expect(span!.kind).toBe(1);
    expect(span!.resource).toMatchObject({ 'service.name': 'tokenwatch-test', 'service.version': VERSION });
    // The span covers the validation, within the request's time.
    expect(span!.startTimeUnixNano).toBeGreaterThanOrEqual(before);
    expect(span!.endTimeUnixNano).toBeGreaterThanOrEqual(span!.startTimeUnixNano);
    expect(span!.endTimeUnixNano).toBeLessThanOrEqual(after);
    expect(span!.status.code ?? 0).not.toBe(2);
    expect(span!.attributes).toMatchObject({
      'oauth.client_id': 'orders-service',
      'oauth.grant_type': 'client-credentials',
      'oauth.scopes': ['read:orders'],
      'oauth.issuer': jwks().issuer,
      'oauth.validation.result': 'success',
      'tokenwatch.cache': 'miss',
      'jwt.kid': jwks().currentKid(),
    });
    const audit = sidecar.logs.findLast((line) => line.event === 'token_validated');
    expect(audit?.trace_id).toBe(TRACE_ID);
  });

  test('a failure has error status and the failure reason; a cache hit says hit', async () => {
    const token = await jwks().sign({ aud: 'orders-api', sub: 'u2', scope: 'read:orders' });
    const failing = withClaims(token, { sub: 'admin' });
    const traceA = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const traceB = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
    await sidecar.request('/api/orders/1', { headers: { authorization: `Bearer ${failing}`, traceparent: traceparent(traceA) } });
    await sidecar.request('/api/orders/1', bearer(token));
    await sidecar.request('/api/orders/1', { headers: { authorization: `Bearer ${token}`, traceparent: traceparent(traceB) } });
    const [failure] = await eventually(() => spansOfTrace(traceA).length === 1 && spansOfTrace(traceA));
    expect(failure!.status.code).toBe(2);
    expect(failure!.attributes).toMatchObject({ 'oauth.validation.result': 'failure', 'oauth.failure.reason': 'invalid_signature', 'tokenwatch.let_through': false });
    const [hit] = await eventually(() => spansOfTrace(traceB).length === 1 && spansOfTrace(traceB));
    expect(hit!.attributes['tokenwatch.cache']).toBe('hit');
  });

  test('in report-only the failure is recorded the same way and the span says the request was let through', async () => {
    const traceC = 'cccccccccccccccccccccccccccccccc';
    const response = await sidecar.request('/api/rollout/1', { headers: { authorization: 'Bearer abc.def.ghi', traceparent: traceparent(traceC) } });
    expect(response.status).toBe(200);
    const [span] = await eventually(() => spansOfTrace(traceC).length === 1 && spansOfTrace(traceC));
    expect(span!.status.code).toBe(2);
    expect(span!.attributes).toMatchObject({ 'oauth.failure.reason': 'malformed', 'tokenwatch.let_through': true, 'tokenwatch.enforcement': 'report-only' });
  });

  test('a traceparent of a later version, with a field only the W3C propagator reads, is continued by the SDK', async () => {
    const token = await jwks().sign({ aud: 'orders-api', sub: 'u3', scope: 'read:orders' });
    const traceE = 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee';
    const response = await sidecar.request('/api/orders/1', {
      headers: { authorization: `Bearer ${token}`, traceparent: `01-${traceE}-${PARENT_SPAN}-01-future`, tracestate: 'vendor=later' },
    });
    expect(response.status).toBe(200);
    const [span] = await eventually(() => spansOfTrace(traceE).length === 1 && spansOfTrace(traceE));
    expect(span).toMatchObject({ parentSpanId: PARENT_SPAN, traceState: 'vendor=later', attributes: { 'oauth.validation.result': 'success' } });
    expect(span!.resource['service.name']).toBe('tokenwatch-test');
  });

  test('discovery and JWKS fetches get their own spans', async () => {
    await eventually(() => receiver.spans.some((span) => span.name === 'idp.jwks') && receiver.spans.some((span) => span.name === 'idp.discovery'));
    const jwksSpan = receiver.spans.find((span) => span.name === 'idp.jwks')!;
    expect(jwksSpan.attributes['oauth.issuer']).toBe(jwks().issuer);
  });

  test('no token, signature or secret reaches a span', () => {
    const exported = JSON.stringify(receiver.spans, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value));
    expect(exported).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });
});

describe('proxy mode', () => {
  test('the request to the upstream carries the trace context, with the validation span as parent', async () => {
    const upstream = await startDemoUpstream();
    const proxy = await startTestSidecar({
      mode: 'proxy',
      upstream: upstream.url,
      issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
    });
    try {
      const traceId = 'dddddddddddddddddddddddddddddddd';
      const token = await jwks().sign({ aud: 'orders-api', sub: 'u3' });
      const response = await proxy.request('/api/x', { headers: { authorization: `Bearer ${token}`, traceparent: traceparent(traceId) } });
      const echo = (await response.json()) as { headers: Record<string, string> };
      const [span] = await eventually(() => spansOfTrace(traceId).length === 1 && spansOfTrace(traceId));
      expect(echo.headers.traceparent).toBe(`00-${traceId}-${span!.spanId}-01`);
      expect(span!.parentSpanId).toBe(PARENT_SPAN);
      const metrics = await proxy.metricsText();
      expect(sampleValue(metrics, 'upstream_request_duration_seconds_count', { status_class: '2xx' })).toBe(1);
    } finally {
      await proxy.shutdown();
      await upstream.stop();
    }
  });
});

describe('tracing switches', () => {
  const logger = createLogger('silent');
  test('spans go out in the default protocol, OTLP/HTTP protobuf', () => {
    expect(receiver.spans.length).toBeGreaterThan(0);
    expect(new Set(receiver.contentTypes)).toEqual(new Set(['application/x-protobuf']));
  });
  test('a protocol tokenwatch has no exporter for is logged, naming the variable, and http/protobuf is used', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const capturing = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/thrift', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
    const tracing = await startTracing(env, capturing);
    await tracing?.shutdown();
    expect(lines.find((line) => line.event === 'tracing_protocol_unsupported')).toMatchObject({
      level: 40,
      variable: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
      value: 'http/thrift',
      protocol: 'http/protobuf',
    });
    expect(lines.find((line) => line.event === 'tracing_started')).toMatchObject({ protocol: 'http/protobuf', endpoint: `${receiver.endpoint}/` });
  });
  test('the endpoint is logged without user, password or query', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const capturing = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const tracing = await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:s3cret-pass@127.0.0.1:1/otlp?token=s3cret-query' }, capturing);
    await tracing?.shutdown();
    const started = lines.find((line) => line.event === 'tracing_started');
    expect(started?.endpoint).toBe('http://[redacted]@127.0.0.1:1/otlp');
    expect(JSON.stringify(lines)).not.toContain('s3cret');
  });
  test('OTEL_SDK_DISABLED=true starts nothing', async () => {
    expect(await startTracing({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' }, logger)).toBeUndefined();
  });
  test('no OTLP endpoint starts nothing', async () => {
    expect(await startTracing({}, logger)).toBeUndefined();
  });
});
