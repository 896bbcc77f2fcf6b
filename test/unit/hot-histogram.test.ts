import fc from 'fast-check';
import { Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { HotHistogram } from '../../src/observability/metrics/hot-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const LABEL_SETS = [
  { result: 'success', cache: 'hit' },
  { result: 'failure', cache: 'miss' },
] as const;

/** The same observations through prom-client's own Histogram and through HotHistogram, in two registries. */
async function bothExpositions(observations: ReadonlyArray<readonly [number, number]>) {
  const plainRegistry = new Registry();
  const hotRegistry = new Registry();
  const configuration = { name: 'x_seconds', help: 'x', labelNames: ['result', 'cache'] as const, buckets: BUCKETS };
  const plain = new Histogram({ ...configuration, registers: [plainRegistry] });
  const hot = new HotHistogram({ ...configuration, registers: [hotRegistry] });
  const slots = LABEL_SETS.map((labels) => hot.slot(labels));
  for (const labels of LABEL_SETS) plain.zero(labels);
  for (const [set, value] of observations) {
    plain.observe(LABEL_SETS[set]!, value);
    slots[set]!.observe(value);
  }
  return {
    plain: { text: await plainRegistry.metrics(), json: await plainRegistry.getMetricsAsJSON() },
    hot: { text: await hotRegistry.metrics(), json: await hotRegistry.getMetricsAsJSON() },
  };
}

describe('HotHistogram', () => {
  test('exposes exactly what prom-client would for the same observations (text and JSON)', async () => {
    const value = fc.oneof(fc.double({ min: 0, max: 5, noNaN: true }), fc.constantFrom(...BUCKETS), fc.constant(0));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), value), { maxLength: 60 }), async (observations) => {
        const { plain, hot } = await bothExpositions(observations);
        expect(hot.text).toBe(plain.text);
        expect(hot.json).toEqual(plain.json);
      }),
      { numRuns: 300 },
    );
  });

  test('a value on a bucket bound counts in that bucket; above the last only in +Inf', async () => {
    const { hot } = await bothExpositions([
      [0, 0.01],
      [0, 7],
    ]);
    expect(hot.text).toContain('x_seconds_bucket{le="0.001",result="success",cache="hit"} 0');
    expect(hot.text).toContain('x_seconds_bucket{le="0.01",result="success",cache="hit"} 1');
    expect(hot.text).toContain('x_seconds_bucket{le="1",result="success",cache="hit"} 1');
    expect(hot.text).toContain('x_seconds_bucket{le="+Inf",result="success",cache="hit"} 2');
    expect(hot.text).toContain('x_seconds_sum{result="success",cache="hit"} 7.01');
    expect(hot.text).toContain('x_seconds_count{result="failure",cache="miss"} 0');
  });

  test('non-finite values are ignored, reset zeroes every slot', async () => {
    const registry = new Registry();
    const hot = new HotHistogram({ name: 'y_seconds', help: 'y', labelNames: ['a'] as const, buckets: BUCKETS, registers: [registry] });
    const slot = hot.slot({ a: 'b' });
    slot.observe(Number.NaN);
    slot.observe(Number.POSITIVE_INFINITY);
    expect(await registry.metrics()).toContain('y_seconds_count{a="b"} 0');
    slot.observe(0.5);
    expect(await registry.metrics()).toContain('y_seconds_count{a="b"} 1');
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('y_seconds_count{a="b"} 0');
  });

  test('a traced observation is the exemplar of its bucket, the latest one per bucket, in OpenMetrics only', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const hot = new HotHistogram({ name: 'z_seconds', help: 'z', labelNames: ['a'] as const, buckets: BUCKETS, registers: [registry] });
    const slot = hot.slot({ a: 'b' });
    slot.observeTraced(0.05, '11111111111111111111111111111111');
    slot.observeTraced(0.07, '22222222222222222222222222222222');
    slot.observe(0.08);
    slot.observeTraced(3, '33333333333333333333333333333333');
    const exemplars = (await registry.metrics()).split('\n').filter((line) => line.includes(' # {'));
    expect(exemplars.map((line) => line.replace(/ [0-9.]+$/, ''))).toEqual([
      'z_seconds_bucket{le="0.1",a="b"} 3 # {trace_id="22222222222222222222222222222222"} 0.07',
      'z_seconds_bucket{le="+Inf",a="b"} 4 # {trace_id="33333333333333333333333333333333"} 3',
    ]);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('trace_id');
  });

  test('the classic text format carries no exemplar', async () => {
    const registry = new Registry();
    const hot = new HotHistogram({ name: 'z_seconds', help: 'z', labelNames: ['a'] as const, buckets: BUCKETS, registers: [registry] });
    hot.slot({ a: 'b' }).observeTraced(0.05, '11111111111111111111111111111111');
    const text = await registry.metrics();
    expect(text).toContain('z_seconds_bucket{le="0.1",a="b"} 1\n');
    expect(text).not.toContain('trace_id');
  });
});
