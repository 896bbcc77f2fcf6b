import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '../support/eventually.js';
import { useJwksServer } from '../support/jwks-server.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { startPrometheus, type PrometheusExemplars, type RunningPrometheus } from '../support/prometheus.js';
import { bearer, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { epoch } from '../support/tokens.js';

/**
 * Trace-id exemplars end to end: a real Prometheus with exemplar storage scrapes two tokenwatch replicas, one
 * exporting spans to an OTLP receiver with half of the traces sampled, one without tracing. The exemplars Prometheus
 * stores must name traces whose spans the receiver got, and come only from the traced replica.
 */
const idp = useJwksServer();
let receiver: OtlpReceiver;
let traced: TestSidecar;
let untraced: TestSidecar;
let prometheus: RunningPrometheus;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const config = { issuers: [{ issuer: idp().issuer, audiences: ['orders-api'] }] };
  traced = await startTestSidecar(config, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.5',
  });
  untraced = await startTestSidecar(config, {});
  const address = (sidecar: TestSidecar) => new URL(sidecar.adminUrl).host;
  prometheus = await startPrometheus({
    targets: [
      { address: address(traced), labels: { pod: 'traced' } },
      { address: address(untraced), labels: { pod: 'untraced' } },
    ],
    ruleFiles: [],
    intervalSeconds: 1,
    features: ['exemplar-storage'],
  });
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await traced?.shutdown();
  await untraced?.shutdown();
  await receiver?.stop();
}, 30_000);

/** Valid and expired tokens, each a new trace, to both replicas. */
async function traffic(): Promise<void> {
  const valid = await idp().sign({ aud: 'orders-api', sub: 'u' });
  const expired = await idp().sign({ aud: 'orders-api', sub: 'u', iat: epoch(-600), exp: epoch(-300) });
  for (const sidecar of [traced, untraced]) {
    for (let index = 0; index < 20; index += 1) {
      expect((await sidecar.request('/api/x', bearer(valid))).status).toBe(200);
      expect((await sidecar.request('/api/x', bearer(expired))).status).toBe(401);
    }
  }
}

const traceIdsOf = (series: readonly PrometheusExemplars[]) => series.flatMap((one) => one.exemplars.map((exemplar) => exemplar.labels.trace_id ?? ''));

/** Trace ids of the validation spans the receiver has got so far. */
const exportedValidationTraces = () => new Set(receiver.spans.filter((span) => span.name === 'token.validate').map((span) => span.traceId));

/**
 * Exemplars of `expr` once Prometheus holds some, and the validation spans the receiver has got once each of their
 * trace ids has had its chance to arrive (spans are exported every 50 ms); a trace id that never arrives fails the
 * caller's check, which names it.
 */
async function storedExemplars(expr: string): Promise<{ series: PrometheusExemplars[]; spans: Set<string> }> {
  const series = await eventually(async () => {
    const found = await prometheus.exemplars(expr);
    return traceIdsOf(found).length > 0 && found;
  }, 20_000, 250);
  const stored = traceIdsOf(series);
  const spans = await eventually(() => {
    const exported = exportedValidationTraces();
    return stored.every((id) => exported.has(id)) && exported;
  }, 10_000, 100).catch(exportedValidationTraces);
  return { series, spans };
}

describe('trace-id exemplars in a real Prometheus', () => {
  test('Prometheus scrapes both replicas without a scrape error', async () => {
    await traffic();
    const targets = await eventually(async () => {
      const active = await prometheus.targets();
      return active.length === 2 && active.every((target) => target.health === 'up') && active;
    }, 20_000, 250);
    for (const target of targets) expect(target.lastError, target.labels.pod).toBe('');
  });

  test('the latency histogram\'s exemplars name traces of sampled validation spans, from the traced replica only', async () => {
    await traffic();
    const { series, spans } = await storedExemplars('token_validation_duration_seconds_bucket');
    for (const one of series) {
      expect(one.seriesLabels.pod).toBe('traced');
      expect(one.seriesLabels.__name__).toBe('token_validation_duration_seconds_bucket');
      for (const exemplar of one.exemplars) {
        const traceId = exemplar.labels.trace_id ?? '';
        expect(traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(spans.has(traceId), `exemplar ${traceId} has an exported span`).toBe(true);
        expect(Number(exemplar.value)).toBeLessThanOrEqual(Number(one.seriesLabels.le));
      }
    }
  });

  test('the failure counter\'s exemplars name traces of sampled failed validations, from the traced replica only', async () => {
    await traffic();
    const { series, spans } = await storedExemplars('token_validation_failure_total{reason="expired"}');
    expect(series.map((one) => one.seriesLabels.pod)).toEqual(['traced']);
    for (const id of traceIdsOf(series)) expect(spans.has(id), `exemplar ${id} has an exported span`).toBe(true);
    const failed = receiver.spans.filter((span) => span.name === 'token.validate' && traceIdsOf(series).includes(span.traceId));
    expect(failed.length).toBeGreaterThan(0);
    for (const span of failed) expect(span.status.code, 'the span of a failed validation is an error').toBe(2);
  });

  test('the replica without tracing has no exemplar at all', async () => {
    await traffic();
    await eventually(async () => traceIdsOf(await prometheus.exemplars('{pod="traced"}')).length > 0, 20_000, 250);
    expect(await prometheus.exemplars('{pod="untraced"}')).toEqual([]);
  });
});
