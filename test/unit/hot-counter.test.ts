import fc from 'fast-check';
import { Counter, Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { metricsExposition } from '../../src/observability/metrics/exposition.js';
import { HotCounter } from '../../src/observability/metrics/hot-counter.js';

const LABEL_SETS = [
  { reason: 'expired', issuer: 'https://a' },
  { reason: 'malformed', issuer: 'https://b' },
] as const;
const configuration = { name: 'x_total', help: 'x', labelNames: ['reason', 'issuer'] as const };
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';


describe('HotCounter', () => {
  test('exposes exactly what prom-client would for the same increments (text and JSON)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 60 }), async (increments) => {
        const plainRegistry = new Registry();
        const hotRegistry = new Registry();
        const plain = new Counter({ ...configuration, registers: [plainRegistry] });
        const hot = new HotCounter({ ...configuration, registers: [hotRegistry] });
        const slots = LABEL_SETS.map((labels) => hot.slot(labels));
        for (const labels of LABEL_SETS) plain.inc(labels, 0);
        for (const set of increments) {
          plain.inc(LABEL_SETS[set]!);
          slots[set]!.count += 1;
        }
        expect(await hotRegistry.metrics()).toBe(await plainRegistry.metrics());
        const withoutExemplars = (await hotRegistry.getMetricsAsJSON()).map((metric) => ({ ...metric, values: metric.values.map(({ labels, value }) => ({ labels, value })) }));
        expect(withoutExemplars).toEqual(await plainRegistry.getMetricsAsJSON());
      }),
      { numRuns: 200 },
    );
  });

  test('the same labels give the same slot, so a series is never written twice', async () => {
    const registry = new Registry();
    const hot = new HotCounter({ name: 'y_total', help: 'y', labelNames: ['scope'] as const, registers: [registry] });
    const first = hot.slot({ scope: 'other' });
    expect(hot.slot({ scope: 'other' })).toBe(first);
    first.count += 2;
    expect((await registry.metrics()).match(/^y_total/gm)).toHaveLength(1);
  });

  test('a traced count keeps the latest trace id as the series\' exemplar, in OpenMetrics only', async () => {
    const registry = new Registry();
    const hot = new HotCounter({ ...configuration, registers: [registry] });
    const slot = hot.slot(LABEL_SETS[0]);
    hot.slot(LABEL_SETS[1]);
    slot.countTraced('11111111111111111111111111111111');
    slot.count += 1;
    const before = Date.now() / 1000;
    slot.countTraced(TRACE_ID);
    expect(await registry.metrics()).not.toContain('trace_id');
    const text = await metricsExposition(registry).openMetrics();
    const line = text.split('\n').find((sample) => sample.startsWith('x_total{reason="expired"'))!;
    const match = /^x_total\{reason="expired",issuer="https:\/\/a"\} 3 # \{trace_id="([0-9a-f]{32})"\} 1 ([0-9.]+)$/.exec(line);
    expect(match, line).not.toBeNull();
    expect(match![1]).toBe(TRACE_ID);
    expect(Number(match![2])).toBeGreaterThanOrEqual(before - 0.001);
    expect(text).toContain('x_total{reason="malformed",issuer="https://b"} 0\n');
  });

  test('reset zeroes every slot and forgets its exemplar', async () => {
    const registry = new Registry();
    const hot = new HotCounter({ ...configuration, registers: [registry] });
    hot.slot(LABEL_SETS[0]).countTraced(TRACE_ID);
    registry.resetMetrics();
    const text = await metricsExposition(registry).openMetrics();
    expect(text).toContain('x_total{reason="expired",issuer="https://a"} 0\n');
    expect(text).not.toContain('trace_id');
  });
});
