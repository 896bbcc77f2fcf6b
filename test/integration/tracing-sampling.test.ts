import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDemoUpstream } from '../../src/dev/demo-upstream.js';
import { accumulate, ratioUpperBound } from '../../src/observability/tracing/trace-sampling.js';
import { eventually } from '../support/eventually.js';
import { useJwksServer } from '../support/jwks-server.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.js';

/**
 * Sampling with a ratio sampler: the fast path that drops spans without the SDK (telemetry/trace-sampling.ts) must
 * agree with the SDK it configures. Every request goes through the proxy, so the upstream's traceparent shows the
 * decision (flags 01 or 00); the receiver shows which spans the SDK really exported.
 */

const RATIO = 0.5;
const jwks = useJwksServer();
let receiver: OtlpReceiver;
let upstream: Awaited<ReturnType<typeof startDemoUpstream>>;
let sidecar: TestSidecar;
let token: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  process.env.OTEL_TRACES_SAMPLER = 'parentbased_traceidratio';
  process.env.OTEL_TRACES_SAMPLER_ARG = String(RATIO);
  upstream = await startDemoUpstream();
  sidecar = await startTestSidecar({ mode: 'proxy', upstream: upstream.url, issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }] });
  token = await jwks().sign({ aud: 'orders-api', sub: 'u1' });
});

afterAll(async () => {
  await sidecar?.shutdown();
  await upstream?.stop();
  await receiver?.stop();
});

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

/** One proxied request; what traceparent the upstream received, parsed. */
async function forwarded(traceparent?: string): Promise<{ traceId: string; spanId: string; sampled: boolean }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (traceparent) headers.traceparent = traceparent;
  const response = await sidecar.request('/api/x', { headers });
  expect(response.status).toBe(200);
  const sent = ((await response.json()) as { headers: Record<string, string> }).headers.traceparent;
  const match = TRACEPARENT.exec(sent ?? '');
  expect(match, `upstream traceparent ${sent}`).not.toBeNull();
  return { traceId: match![1]!, spanId: match![2]!, sampled: match![3] === '01' };
}

const words = (traceId: string) => [0, 8, 16, 24].map((at) => parseInt(traceId.slice(at, at + 8), 16)) as [number, number, number, number];

describe('a ratio sampler, decided without the SDK when a span is dropped', () => {
  test('root requests: about half are sampled, each decision follows the trace id, and exactly the sampled ones are exported', async () => {
    const results: Array<Awaited<ReturnType<typeof forwarded>>> = [];
    for (let index = 0; index < 300; index += 1) results.push(await forwarded());
    const sampled = results.filter((result) => result.sampled);
    expect(sampled.length).toBeGreaterThan(300 * 0.35);
    expect(sampled.length).toBeLessThan(300 * 0.65);
    for (const result of results) expect(accumulate(words(result.traceId)) < ratioUpperBound(RATIO)).toBe(result.sampled);

    const exported = await eventually(() => {
      const spans = receiver.spans.filter((span) => span.name === 'token.validate' && results.some((result) => result.traceId === span.traceId));
      return spans.length >= sampled.length && spans;
    });
    expect(new Set(exported.map((span) => span.traceId))).toEqual(new Set(sampled.map((result) => result.traceId)));
    for (const result of sampled) expect(exported.find((span) => span.traceId === result.traceId)!.spanId).toBe(result.spanId);
  });

  test('the audit log names the trace id the upstream received, sampled or not', async () => {
    const results = [await forwarded(), await forwarded(), await forwarded(), await forwarded()];
    const audited = sidecar.logs.filter((line) => line.event === 'token_validated').slice(-4);
    expect(audited.map((line) => line.trace_id)).toEqual(results.map((result) => result.traceId));
  });

  test('a parent that was not sampled: no span, its trace id goes on with flags 00 and a new parent id', async () => {
    const traceId = 'abababababababababababababababab';
    const result = await forwarded(`00-${traceId}-00f067aa0ba902b7-00`);
    expect(result).toMatchObject({ traceId, sampled: false });
    expect(result.spanId).not.toBe('00f067aa0ba902b7');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.spans.some((span) => span.traceId === traceId)).toBe(false);
    expect(lastAuditLine()?.trace_id, 'the audit line names the parent\'s trace id').toBe(traceId);
  });

  test('a sampled parent: the span is recorded whatever the ratio says of its trace id', async () => {
    // accumulate() of this id is 0xffffffff: a root with it would never be sampled at any ratio below 1.
    const traceId = 'ffffffff000000000000000000000000';
    expect(accumulate(words(traceId)) >= ratioUpperBound(RATIO)).toBe(true);
    const result = await forwarded(`00-${traceId}-00f067aa0ba902b7-01`);
    expect(result).toMatchObject({ traceId, sampled: true });
    const [span] = await eventually(() => {
      const spans = receiver.spans.filter((span) => span.traceId === traceId);
      return spans.length === 1 && spans;
    });
    expect(span!.parentSpanId).toBe('00f067aa0ba902b7');
    expect(span!.spanId).toBe(result.spanId);
    expect(lastAuditLine()?.trace_id).toBe(traceId);
  });
});

/** The last audit line the sidecar wrote (its batch is written within 250 ms; the callers waited longer). */
function lastAuditLine(): Record<string, unknown> | undefined {
  return sidecar.logs.filter((line) => line.event === 'token_validated').at(-1);
}
