/**
 * The sampling decision for a validation span, made without the OpenTelemetry SDK. Starting a span through the SDK
 * makes random ids as hex, has the sampler parse them back, builds a NonRecordingSpan and rebuilds and re-validates
 * the traceparent, even for a span the sampler drops, most of them (bench/ telemetry suite). Here a dropped span is a
 * few random words, and its ids are only turned into hex when someone reads them.
 *
 * The decision is the SDK's own: tokenwatch builds the sampler from OTEL_TRACES_SAMPLER exactly as the SDK would (and
 * hands it to the SDK for the spans it still records), and applies its rules to the same ids (trace-sampling.test.ts
 * checks them against the SDK's sampler). A sampled validation span is recorded without the SDK (decision 7).
 */

/** What OTEL_TRACES_SAMPLER (and _ARG) say, in the terms the fast path needs. */
export interface SamplingPlan {
  /** The sampler name as configured, or the SDK's default. */
  readonly name: SamplerName;
  /** Children of a remote parent follow its sampled flag (the parentbased_* samplers). */
  readonly parentBased: boolean;
  /** Share of root traces sampled, 0 to 1, decided on the trace id as TraceIdRatioBasedSampler does. */
  readonly rootRatio: number;
}

export type SamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

const SAMPLERS: Readonly<Record<SamplerName, Omit<SamplingPlan, 'name' | 'rootRatio'> & { ratio?: number }>> = {
  always_on: { parentBased: false, ratio: 1 },
  always_off: { parentBased: false, ratio: 0 },
  traceidratio: { parentBased: false },
  parentbased_always_on: { parentBased: true, ratio: 1 },
  parentbased_always_off: { parentBased: true, ratio: 0 },
  parentbased_traceidratio: { parentBased: true },
};

/** The SDK's default sampler, and its default ratio for a missing or out-of-range OTEL_TRACES_SAMPLER_ARG. */
const DEFAULT_SAMPLER: SamplerName = 'parentbased_always_on';
const DEFAULT_RATIO = 1;

/**
 * The plan for these variables, or undefined for a sampler name the SDK does not know either (it then logs an error
 * and uses its default; tokenwatch leaves the whole decision to it).
 */
export function samplingPlan(env: NodeJS.ProcessEnv): SamplingPlan | undefined {
  const configured = env.OTEL_TRACES_SAMPLER?.trim();
  const name = (configured ? configured : DEFAULT_SAMPLER) as SamplerName;
  const sampler = Object.hasOwn(SAMPLERS, name) ? SAMPLERS[name] : undefined;
  if (sampler === undefined) return undefined;
  return { name, parentBased: sampler.parentBased, rootRatio: sampler.ratio ?? ratioFrom(env.OTEL_TRACES_SAMPLER_ARG) };
}

function ratioFrom(text: string | undefined): number {
  const trimmed = text?.trim();
  if (!trimmed) return DEFAULT_RATIO;
  const ratio = Number(trimmed);
  return Number.isNaN(ratio) || ratio < 0 || ratio > 1 ? DEFAULT_RATIO : ratio;
}

/** TraceIdRatioBasedSampler's threshold: a trace is sampled when its accumulated id is below it. */
export function ratioUpperBound(ratio: number): number {
  return ratio >= 1 ? 0x100000000 : ratio <= 0 ? 0 : Math.floor(ratio * 0xffffffff);
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE_ID = '00000000000000000000000000000000';
const INVALID_SPAN_ID = '0000000000000000';

/** A W3C traceparent as the SDK's propagator accepts it; undefined for anything else (the SDK ignores those too). */
export interface RemoteParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

export function parseTraceparent(header: string | undefined): RemoteParent | undefined {
  if (header === undefined) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match || match[1] === 'ff' || match[2] === INVALID_TRACE_ID || match[3] === INVALID_SPAN_ID) return undefined;
  // Version 00 has exactly four fields; later versions may add more, which this pattern does not admit.
  return { traceId: match[2]!, spanId: match[3]!, sampled: (parseInt(match[4]!, 16) & 1) === 1 };
}

/** A random, valid (non-zero) trace id as four 32-bit words, in the order they appear in its hex form. */
export function randomTraceWords(): [number, number, number, number] {
  for (;;) {
    const words: [number, number, number, number] = [randomWord(), randomWord(), randomWord(), randomWord()];
    if ((words[0] | words[1] | words[2] | words[3]) !== 0) return words;
  }
}

/** What TraceIdRatioBasedSampler computes from a trace id's hex form: its four words XORed. */
export function accumulate(words: readonly [number, number, number, number]): number {
  return (words[0] ^ words[1] ^ words[2] ^ words[3]) >>> 0;
}

/** accumulate() of a trace id in hex (32 lowercase hex digits, as parseTraceparent returns it). */
export function accumulateHex(traceId: string): number {
  return (parseInt(traceId.slice(0, 8), 16) ^ parseInt(traceId.slice(8, 16), 16) ^ parseInt(traceId.slice(16, 24), 16) ^ parseInt(traceId.slice(24, 32), 16)) >>> 0;
}

/** Two hex digits per byte value: Number#toString(16) is V8's generic radix conversion and several times slower. */
const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

export function wordsToHex(words: readonly number[]): string {
  let hex = '';
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index]!;
    hex += BYTE_HEX[word >>> 24]! + BYTE_HEX[(word >>> 16) & 0xff]! + BYTE_HEX[(word >>> 8) & 0xff]! + BYTE_HEX[word & 0xff]!;
  }
  return hex;
}

/** A random, valid span id in hex. */
export function randomSpanId(): string {
  for (;;) {
    const high = randomWord();
    const low = randomWord();
    if ((high | low) !== 0) return wordsToHex([high, low]);
  }
}

function randomWord(): number {
  // Math.random, as the SDK's RandomIdGenerator: trace ids need to be unique, not unpredictable.
  return (Math.random() * 0x100000000) >>> 0;
}
