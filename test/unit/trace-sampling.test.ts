import { ROOT_CONTEXT } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { accumulate, accumulateHex, parseTraceparent, randomSpanId, randomTraceWords, ratioUpperBound, samplingPlan, wordsToHex } from '../../src/observability/tracing/trace-sampling.js';

const word = fc.integer({ min: 0, max: 0xffffffff });
const ratio = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1, 0.1, 0.5));

describe('root decisions agree with the SDK sampler', () => {
  test('a trace id is sampled exactly when TraceIdRatioBasedSampler samples its hex form', () => {
    fc.assert(
      fc.property(fc.tuple(word, word, word, word), ratio, (words, share) => {
        fc.pre((words[0] | words[1] | words[2] | words[3]) !== 0);
        const sdk = new TraceIdRatioBasedSampler(share);
        const sdkSampled = sdk.shouldSample(ROOT_CONTEXT, wordsToHex(words)).decision === SamplingDecision.RECORD_AND_SAMPLED;
        expect(accumulate(words) < ratioUpperBound(share)).toBe(sdkSampled);
      }),
      { numRuns: 2000 },
    );
  });

  test('a parent\'s trace id in hex is judged as the SDK sampler judges it (non-parent-based samplers with a remote parent)', () => {
    fc.assert(
      fc.property(fc.tuple(word, word, word, word), ratio, (words, share) => {
        fc.pre((words[0] | words[1] | words[2] | words[3]) !== 0);
        const hex = wordsToHex(words);
        const sdk = new TraceIdRatioBasedSampler(share);
        const sdkSampled = sdk.shouldSample(ROOT_CONTEXT, hex).decision === SamplingDecision.RECORD_AND_SAMPLED;
        expect(accumulateHex(hex)).toBe(accumulate(words));
        expect(accumulateHex(hex) < ratioUpperBound(share)).toBe(sdkSampled);
      }),
      { numRuns: 2000 },
    );
  });

  test('random ids are valid: 32 and 16 lower-case hex digits, never all zero', () => {
    for (let index = 0; index < 1000; index += 1) {
      expect(wordsToHex(randomTraceWords())).toMatch(/^[0-9a-f]{32}$/);
      expect(wordsToHex(randomTraceWords())).not.toBe('0'.repeat(32));
      expect(randomSpanId()).toMatch(/^(?!0{16})[0-9a-f]{16}$/);
    }
  });
});

describe('samplingPlan reads OTEL_TRACES_SAMPLER as the SDK does', () => {
  test.each([
    [{}, { name: 'parentbased_always_on', parentBased: true, rootRatio: 1 }],
    [{ OTEL_TRACES_SAMPLER: 'always_on' }, { name: 'always_on', parentBased: false, rootRatio: 1 }],
    [{ OTEL_TRACES_SAMPLER: 'always_off' }, { name: 'always_off', parentBased: false, rootRatio: 0 }],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, { name: 'parentbased_always_off', parentBased: true, rootRatio: 0 }],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }, { name: 'traceidratio', parentBased: false, rootRatio: 0.25 }],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }, { name: 'parentbased_traceidratio', parentBased: true, rootRatio: 0.1 }],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' }, { name: 'parentbased_traceidratio', parentBased: true, rootRatio: 1 }],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, { name: 'parentbased_traceidratio', parentBased: true, rootRatio: 1 }],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'abc' }, { name: 'traceidratio', parentBased: false, rootRatio: 1 }],
  ])('%j', (env, plan) => {
    expect(samplingPlan(env)).toEqual(plan);
  });

  test('a sampler name the SDK does not know is left to the SDK', () => {
    expect(samplingPlan({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toBeUndefined();
    expect(samplingPlan({ OTEL_TRACES_SAMPLER: 'toString' })).toBeUndefined();
  });
});

describe('parseTraceparent', () => {
  test('a valid header gives its trace id, span id and sampled flag', () => {
    const ids = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({ ...ids, sampled: true });
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')).toEqual({ ...ids, sampled: false });
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03')?.sampled).toBe(true);
  });

  test.each([
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    'garbage',
    '',
  ])('%s is not a parent tokenwatch judges itself', (header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });
});

describe('wordsToHex', () => {
  test('is each word as 8 lower-case hex digits, zero-padded', () => {
    fc.assert(
      fc.property(fc.array(word, { maxLength: 4 }), (words) => {
        expect(wordsToHex(words)).toBe(words.map((value) => value.toString(16).padStart(8, '0')).join(''));
      }),
    );
    expect(wordsToHex([0, 0xffffffff, 0x0a0b0c0d])).toBe('00000000ffffffff0a0b0c0d');
  });
});
