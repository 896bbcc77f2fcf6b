import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { AuthFailure } from '../../src/auth/errors.js';
import { FAILURE_REASONS, type FailureReason } from '../../src/auth/reasons.js';
import type { VerifiedToken } from '../../src/auth/verified-token.js';
import type { FailureContext } from '../../src/auth/errors.js';
import type { CacheOutcome } from '../../src/auth/token-cache.js';
import type { Enforcement } from '../../src/config/schema.js';
import type { RouteRule } from '../../src/policy/routes.js';
import type { ValidationRecord, ValidationSpan } from '../../src/server/gate/ports.js';
import { AuditLog } from '../../src/observability/audit/audit-log.js';
import { LineBatcher } from '../../src/logging/line-batcher.js';
import { createLogger, destinationOf, type Logger } from '../../src/logging/logger.js';
import { traceIdOf } from '../../src/observability/tracing/tracing.js';

/** A destination that keeps every write, as pino's own destination would receive it. */
function capture(): pino.DestinationStream & { writes: string[] } {
  const writes: string[] = [];
  return { writes, write: (line: string) => void writes.push(line) };
}

/**
 * The audit event as pino writes it through the same logger: the reference the audit line must match, written out
 * here rather than built from the audit schema it checks.
 */
function logThroughPino(logger: Logger, report: ValidationRecord): void {
  const failure = report.failure;
  const level = failure ? 'warn' : 'info';
  const token = report.token;
  logger[level]({
    event: 'token_validated',
    trace_id: report.trace?.traceId ?? traceIdOf(report.request.traceparent),
    client_id: token?.clientId,
    grant_type: token?.grantType,
    scopes: token ? [...token.scopes] : undefined,
    validation_result: failure ? 'failure' : 'success',
    failure_reason: failure?.reason,
    failure_description: failure?.description,
    auth_server: report.issuer,
    kid: report.kid,
    cache: report.cache,
    duration_ms: Math.round(report.seconds * 1e6) / 1e3,
    route: report.route.pattern,
    method: report.request.method,
    status: report.status,
    enforcement: report.route.enforcement,
    ...(report.letThrough ? { let_through: true } : {}),
  });
}

/** The one line the audit log writes for `report` (logger at `level`, every success logged), or undefined. */
function auditLineOf(report: ValidationRecord, level = 'info'): string | undefined {
  const destination = capture();
  const logger = createLogger(level, destination);
  expect(destinationOf(logger), 'createLogger’s logger is written to directly').toBeDefined();
  new AuditLog(logger, { successSampleRate: 1 }).validated(report);
  expect(destination.writes.length).toBeLessThanOrEqual(1);
  return destination.writes[0];
}

/** The bytes the audit log writes for `report` through tokenwatch's own batched destination (LineBatcher). */
function batchedBytesOf(report: ValidationRecord): Buffer {
  const chunks: Buffer[] = [];
  const batcher = new LineBatcher({ write: (chunk: Buffer) => (chunks.push(Buffer.from(chunk)), true), flushSync: () => {} }, 64 * 1024);
  new AuditLog(createLogger('info', batcher), { successSampleRate: 1 }).validated(report);
  batcher.flush();
  return Buffer.concat(chunks);
}

function pinoLineOf(report: ValidationRecord): string {
  const destination = capture();
  logThroughPino(createLogger('info', destination), report);
  expect(destination.writes).toHaveLength(1);
  return destination.writes[0]!;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * pino before Node 25 copies short strings without escaping lone surrogates; JSON.stringify escapes them (and the
 * audit line uses it). Escaping them in pino's line gives the bytes the audit line must have.
 */
function escapeLoneSurrogates(line: string): string {
  return line.replace(LONE_SURROGATE, (unit) => `\\u${unit.charCodeAt(0).toString(16)}`);
}

/** Same line as pino's, byte for byte (time included: Date.now is fixed), one line, same object, same key order. */
function expectSameAsPino(report: ValidationRecord, now = 1_795_000_000_123): Record<string, unknown> {
  const spy = vi.spyOn(Date, 'now').mockReturnValue(now);
  let ours: string | undefined;
  let reference: string;
  let batched: Buffer;
  try {
    ours = auditLineOf(report);
    reference = pinoLineOf(report);
    batched = batchedBytesOf(report);
  } finally {
    spy.mockRestore();
  }
  // Through the batcher: the very bytes of the line.
  expect(batched.equals(Buffer.from(ours ?? '', 'utf8'))).toBe(true);
  expect(ours).toBeDefined();
  const line = ours!;
  expect(line.endsWith('\n')).toBe(true);
  expect(line.indexOf('\n')).toBe(line.length - 1);
  expect(line).not.toContain('\r');
  const parsed = JSON.parse(line) as Record<string, unknown>;
  const expected = JSON.parse(reference) as Record<string, unknown>;
  expect(parsed).toStrictEqual(expected);
  expect(Object.keys(parsed)).toStrictEqual(Object.keys(expected));
  expect(line).toBe(escapeLoneSurrogates(reference));
  return parsed;
}

// --- report builders -------------------------------------------------------------------------------------------

function verifiedToken(overrides: Partial<{ issuer: string; clientId: string | undefined; grantType: string | undefined; scopes: string[]; kid: string | undefined }> = {}): VerifiedToken {
  const fields = { issuer: 'https://idp.example.com/', clientId: 'orders-service', grantType: 'client-credentials', scopes: ['read:orders'], kid: 'k1', ...overrides };
  return {
    issuer: fields.issuer,
    claims: {},
    scopes: new Set(fields.scopes),
    key: { kid: fields.kid, alg: 'RS256', verifier: { verify: () => true }, id: 'thumbprint' } as unknown as VerifiedToken['key'],
    exp: 2_000_000_000,
    nbf: undefined,
    iat: 1_700_000_000,
    clientId: fields.clientId,
    grantType: fields.grantType,
    identityHeaders: [],
  };
}

function routeRule(pattern = '/api/orders/**', enforcement: Enforcement = 'enforce'): RouteRule {
  return { index: 0, pattern, public: false, deny: false, scopes: ['read:orders'], scopeChallenge: 'read:orders', enforcement };
}

function failureOf(reason: FailureReason, description: string, context?: FailureContext): AuthFailure {
  const failure = new AuthFailure(reason, description);
  failure.context = context;
  return failure;
}

interface ReportParts {
  method?: string;
  traceparent?: string | undefined;
  traceId?: string | undefined;
  route?: RouteRule;
  token?: VerifiedToken | undefined;
  cache?: CacheOutcome;
  failure?: AuthFailure | undefined;
  allowed?: boolean;
  seconds?: number;
}

/** The record the gate writes for these parts (access-gate.ts: issuer, kid and cache from the token, else the failure). */
function report(parts: ReportParts = {}): ValidationRecord {
  const token = 'token' in parts ? parts.token : verifiedToken();
  const failure = parts.failure;
  const allowed = parts.allowed ?? !failure;
  return {
    request: { method: parts.method ?? 'GET', target: '/api/orders/1', authorization: ['Bearer not-a-token'], traceparent: parts.traceparent, tracestate: undefined },
    route: parts.route ?? routeRule(),
    token,
    failure,
    issuer: token?.issuer ?? failure?.context?.issuer,
    kid: token?.key.kid ?? failure?.context?.kid,
    cache: token ? (parts.cache ?? 'hit') : failure?.context?.cache,
    status: allowed ? 200 : (failure?.status ?? 401),
    letThrough: failure !== undefined && allowed,
    seconds: parts.seconds ?? 0.000412,
    trace: parts.traceId === undefined ? undefined : spanWithTraceId(parts.traceId),
  };
}

/** A dropped validation span with this trace id, as the gate reports it (tracing.ts makes the real ones). */
function spanWithTraceId(traceId: string): ValidationSpan {
  return {
    traceId,
    recording: false,
    traceparent: () => `00-${traceId}-b7ad6b7169203331-00`,
  };
}

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

afterEach(() => {
  vi.restoreAllMocks();
});

// --- hostile strings -------------------------------------------------------------------------------------------

const hostileUnit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('"', '\\', '\n', '\r', '\t', '\b', '\f', '\u0000', '\u001f', '\u007f', '\u2028', '\u2029', '\ufeff', '{', '}', ',', ':', '\\u0000', '\\"', 'a', 'é', '😀') },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 4 }) },
);
/** Short (pino copies strings of at most 100 units itself) and very long (it hands those to JSON.stringify). */
const hostile = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: hostileUnit, maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: hostileUnit, minLength: 95, maxLength: 110 }) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ unit: hostileUnit, maxLength: 8 }), fc.integer({ min: 100, max: 5000 })).map(([text, length]) => text.padEnd(length, 'x\\"')) },
);
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

const tokenArbitrary = fc
  .record({ issuer: hostile, clientId: maybe(hostile), grantType: maybe(hostile), scopes: fc.array(hostile, { maxLength: 4 }), kid: maybe(hostile) })
  .map((fields) => verifiedToken(fields));
const contextArbitrary = fc.record(
  { issuer: hostile, kid: hostile, cache: fc.constantFrom<CacheOutcome>('hit', 'miss') },
  { requiredKeys: ['cache'] },
);
const failureArbitrary = fc
  .record({ reason: fc.constantFrom(...FAILURE_REASONS), description: hostile, context: maybe(contextArbitrary) })
  .map(({ reason, description, context }) => failureOf(reason, description, context));
const reportArbitrary = fc
  .record({
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'DELETE', 'PROPFIND', 'get'), hostile),
    traceparent: maybe(fc.oneof(fc.constantFrom(TRACEPARENT, '00-00000000000000000000000000000000-b7ad6b7169203331-01', 'garbage'), hostile)),
    // A span's trace id is hex by construction (trace-sampling.test.ts: only hex digits are ever written).
    traceId: maybe(fc.oneof(fc.constant('4bf92f3577b34da6a3ce929d0e0e4736'), fc.stringMatching(/^[0-9a-f]{32}$/))),
    route: fc.tuple(hostile, fc.constantFrom<Enforcement>('enforce', 'report-only')).map(([pattern, enforcement]) => routeRule(pattern, enforcement)),
    token: maybe(tokenArbitrary),
    cache: fc.constantFrom<CacheOutcome>('hit', 'miss'),
    failure: maybe(failureArbitrary),
    allowed: fc.boolean(),
    seconds: fc.oneof(fc.double({ min: 0, max: 30, noNaN: true }), fc.constantFrom(0, -0, 1e-9, 0.0004125, Number.NaN, Number.POSITIVE_INFINITY)),
  })
  .map((parts) => report(parts));

describe('audit line', () => {
  test('is pino’s line for the same event, byte for byte, whatever the strings from requests and tokens hold', () => {
    fc.assert(
      fc.property(reportArbitrary, fc.integer({ min: 0, max: 4_102_444_800_000 }), (generated, now) => {
        expectSameAsPino(generated, now);
      }),
      { numRuns: 400 },
    );
  });

  test('success, cache hit: the token’s fields, no failure fields', () => {
    const line = expectSameAsPino(report({ traceparent: TRACEPARENT, cache: 'hit' }));
    expect(line).toStrictEqual({
      level: 30,
      time: new Date(1_795_000_000_123).toISOString(),
      service: 'tokenwatch',
      event: 'token_validated',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      client_id: 'orders-service',
      grant_type: 'client-credentials',
      scopes: ['read:orders'],
      validation_result: 'success',
      auth_server: 'https://idp.example.com/',
      kid: 'k1',
      cache: 'hit',
      duration_ms: 0.412,
      route: '/api/orders/**',
      method: 'GET',
      status: 200,
      enforcement: 'enforce',
    });
  });

  test('success, cache miss, a token without client id, grant type, scopes or kid; the span’s trace id wins', () => {
    const token = verifiedToken({ clientId: undefined, grantType: undefined, scopes: [], kid: undefined });
    const line = expectSameAsPino(report({ token, cache: 'miss', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', traceparent: TRACEPARENT, method: 'POST' }));
    expect(line).toMatchObject({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', scopes: [], cache: 'miss', method: 'POST', status: 200 });
    for (const key of ['client_id', 'grant_type', 'kid', 'failure_reason', 'failure_description', 'let_through']) expect(line).not.toHaveProperty(key);
  });

  test('no trace id when there is neither a span nor a usable traceparent', () => {
    for (const traceparent of [undefined, 'garbage', '00-00000000000000000000000000000000-b7ad6b7169203331-01']) {
      expect(expectSameAsPino(report({ traceparent }))).not.toHaveProperty('trace_id');
    }
  });

  test.each(FAILURE_REASONS.map((reason) => [reason]))('failure %s, with and without context', (reason) => {
    const failure = failureOf(reason, `described "${reason}"\n`);
    const bare = expectSameAsPino(report({ token: undefined, failure }));
    expect(bare).toMatchObject({ level: 40, validation_result: 'failure', failure_reason: reason, failure_description: `described "${reason}"\n`, status: failure.status });
    for (const key of ['auth_server', 'kid', 'cache', 'client_id', 'scopes', 'let_through']) expect(bare).not.toHaveProperty(key);

    const withContext = failureOf(reason, 'signature verification failed', { issuer: 'https://evil.example/"}', kid: 'k\u2028\ud800', cache: 'hit' });
    expect(expectSameAsPino(report({ token: undefined, failure: withContext }))).toMatchObject({
      failure_reason: reason,
      auth_server: 'https://evil.example/"}',
      kid: 'k\u2028\ud800',
      cache: 'hit',
    });
    const partial = failureOf(reason, 'd', { kid: 'k2', cache: 'miss' });
    const partialLine = expectSameAsPino(report({ token: undefined, failure: partial }));
    expect(partialLine).toMatchObject({ kid: 'k2', cache: 'miss' });
    expect(partialLine).not.toHaveProperty('auth_server');
  });

  test('insufficient scope: the verified token’s fields and the failure’s together', () => {
    const failure = failureOf('insufficient_scope', 'the token lacks a scope this route requires');
    const line = expectSameAsPino(report({ failure, cache: 'hit' }));
    expect(line).toMatchObject({ level: 40, client_id: 'orders-service', failure_reason: 'insufficient_scope', auth_server: 'https://idp.example.com/', kid: 'k1', cache: 'hit', status: 403 });
  });

  test('a token without kid takes the failure context’s kid', () => {
    const token = verifiedToken({ kid: undefined });
    const failure = failureOf('insufficient_scope', 'd', { issuer: 'other', kid: 'from-context', cache: 'miss' });
    expect(expectSameAsPino(report({ token, failure }))).toMatchObject({ auth_server: 'https://idp.example.com/', kid: 'from-context', cache: 'hit' });
  });

  test('report-only: a failure let through says so, with status 200', () => {
    const failure = failureOf('expired', 'token has expired', { issuer: 'https://idp.example.com/', kid: 'k1', cache: 'hit' });
    const line = expectSameAsPino(report({ token: undefined, failure, allowed: true, route: routeRule('/api/**', 'report-only') }));
    expect(line).toMatchObject({ level: 40, validation_result: 'failure', failure_reason: 'expired', status: 200, enforcement: 'report-only', let_through: true });
    expect(Object.keys(line).at(-1)).toBe('let_through');
    const denied = expectSameAsPino(report({ token: undefined, failure, allowed: false, route: routeRule('/api/**', 'report-only') }));
    expect(denied).not.toHaveProperty('let_through');
  });

  test('a verified token’s scopes are listed once, however many requests it serves', () => {
    let scopeReads = 0;
    const base = verifiedToken({ scopes: ['a', 'b'] });
    const token = Object.defineProperty({ ...base }, 'scopes', { get: () => (scopeReads++, base.scopes) }) as VerifiedToken;
    const route = routeRule();
    const destination = capture();
    const audit = new AuditLog(createLogger('info', destination), { successSampleRate: 1 });
    for (const method of ['GET', 'POST', 'X"Y']) audit.validated(report({ token, route, method }));
    expect(destination.writes).toHaveLength(3);
    expect(destination.writes.map((line) => (JSON.parse(line) as { method: string }).method)).toStrictEqual(['GET', 'POST', 'X"Y']);
    expect(destination.writes.every((line) => (JSON.parse(line) as { scopes: string[] }).scopes.join() === 'a,b')).toBe(true);
    expect(scopeReads).toBe(1);
  });
});

describe('AuditLog', () => {
  const failure = () => failureOf('invalid_signature', 'signature verification failed', { issuer: 'https://idp.example.com/', kid: 'k1', cache: 'miss' });

  function logged(level: string, rate: number, reports: ValidationRecord[], random?: () => number): Array<Record<string, unknown>> {
    const destination = capture();
    const audit = new AuditLog(createLogger(level, destination), { successSampleRate: rate }, random);
    for (const each of reports) audit.validated(each);
    return destination.writes.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  test('successSampleRate 0 logs failures only', () => {
    const lines = logged('info', 0, [report(), report({ token: undefined, failure: failure() }), report()]);
    expect(lines.map((line) => line.validation_result)).toStrictEqual(['failure']);
  });

  test('successes are sampled with the injected random; failures are not', () => {
    const draws = [0.1, 0.9, 0.49, 0.5];
    const random = vi.fn(() => draws.shift()!);
    const reports = [report({ method: 'A' }), report({ method: 'B' }), report({ token: undefined, failure: failure(), method: 'C' }), report({ method: 'D' }), report({ method: 'E' })];
    expect(logged('info', 0.5, reports, random).map((line) => line.method)).toStrictEqual(['A', 'C', 'D']);
    expect(random).toHaveBeenCalledTimes(4);
  });

  test('level warn logs failures only; silent logs nothing', () => {
    const reports = [report(), report({ token: undefined, failure: failure() })];
    expect(logged('warn', 1, reports).map((line) => [line.level, line.validation_result])).toStrictEqual([[40, 'failure']]);
    expect(logged('silent', 1, reports)).toStrictEqual([]);
    expect(auditLineOf(report(), 'warn')).toBeUndefined();
  });

  test('the line goes to the logger’s own destination, in order with its other lines', () => {
    const destination = capture();
    const logger = createLogger('info', destination);
    const audit = new AuditLog(logger, { successSampleRate: 1 });
    logger.info({ event: 'before' });
    audit.validated(report());
    logger.warn({ event: 'after' });
    expect(destination.writes.map((line) => (JSON.parse(line) as { event: string }).event)).toStrictEqual(['before', 'token_validated', 'after']);
  });

  test('the logger’s bindings when the audit log starts are in the line, as pino would write them', () => {
    const destination = capture();
    const logger = createLogger('info', destination);
    logger.setBindings({ pod: 'orders-7d9f' });
    const audit = new AuditLog(logger, { successSampleRate: 1 });
    audit.validated(report());
    expect(JSON.parse(destination.writes[0]!)).toMatchObject({ service: 'tokenwatch', pod: 'orders-7d9f', event: 'token_validated' });
  });

  test('a logger createLogger did not make gets the event through pino, with the same fields', () => {
    const expected = JSON.parse(pinoLineOf(report())) as Record<string, unknown>;
    delete expected.time;
    const base = { service: 'tokenwatch' };
    const loggers: Array<[string, (destination: pino.DestinationStream) => Logger, Record<string, unknown>]> = [
      ['child', (destination) => createLogger('info', destination).child({ component: 'gate' }), { component: 'gate' }],
      ['mixin', (destination) => pino({ base, mixin: () => ({ extra: 1 }) }, destination), { extra: 1 }],
      ['log formatter', (destination) => pino({ base, formatters: { log: (object) => ({ ...object, formatted: true }) } }, destination), { formatted: true }],
      ['serializer of an event key', (destination) => pino({ base, serializers: { client_id: () => 'hidden' } }, destination), { client_id: 'hidden' }],
      ['redaction of an event key', (destination) => pino({ base, redact: ['kid'] }, destination), { kid: '[Redacted]' }],
      ['metadata stream', (destination) => pino({ base }, pino.multistream([{ stream: destination }])), {}],
    ];
    for (const [name, make, differences] of loggers) {
      const destination = capture();
      const logger = make(destination);
      expect(destinationOf(logger), name).toBeUndefined();
      new AuditLog(logger, { successSampleRate: 1 }).validated(report());
      expect(destination.writes, name).toHaveLength(1);
      expect(JSON.parse(destination.writes[0]!), name).toMatchObject({ ...expected, ...differences });
    }
  });

  test('another root logger (other base, epoch time) gets the line in its own format', () => {
    const destination = capture();
    const reference = capture();
    const options = { base: { app: 'x' }, timestamp: pino.stdTimeFunctions.epochTime };
    const logger = pino(options, destination);
    vi.spyOn(Date, 'now').mockReturnValue(1_795_000_000_123);
    new AuditLog(logger, { successSampleRate: 1 }).validated(report({ failure: failureOf('expired', 'e'), token: undefined }));
    logThroughPino(pino(options, reference), report({ failure: failureOf('expired', 'e'), token: undefined }));
    expect(destination.writes).toStrictEqual(reference.writes);
  });
});

describe('the audit line’s time', () => {
  test('is pino.stdTimeFunctions.isoTime’s for any sequence of clock readings', () => {
    const instant = fc.oneof(
      fc.integer({ min: -62_198_755_200_000, max: 8_640_000_000_000_000 }),
      fc.integer({ min: 1_795_000_000_000 - 2000, max: 1_795_000_000_000 + 2000 }),
      fc.double({ min: -1e13, max: 1e13, noNaN: true }),
    );
    fc.assert(
      fc.property(fc.array(instant, { minLength: 1, maxLength: 20 }), (instants) => {
        const destination = capture();
        const audit = new AuditLog(createLogger('info', destination), { successSampleRate: 1 });
        for (const now of instants) {
          vi.spyOn(Date, 'now').mockReturnValue(now);
          audit.validated(report());
          expect((JSON.parse(destination.writes.at(-1)!) as { time: string }).time).toBe(JSON.parse(`{${pino.stdTimeFunctions.isoTime().slice(1)}}`).time);
          vi.restoreAllMocks();
        }
      }),
      { numRuns: 300 },
    );
  });
});
