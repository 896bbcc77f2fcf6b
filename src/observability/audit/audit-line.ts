import { pino, type DestinationStream, type Logger } from 'pino';
import { FAILURE_REASONS } from '../../auth/reasons.js';
import type { VerifiedToken } from '../../auth/verified-token.js';
import type { RouteRule } from '../../policy/routes.js';
import type { ValidationReport } from '../../server/gate/access-gate.js';
import type { LineBatcher } from '../../logging/line-batcher.js';
import { TRACE_ID_DIGITS, writeTraceIdText } from '../tracing/trace-sampling.js';
import { traceIdOf } from '../tracing/tracing.js';

/**
 * The `token_validated` line, built as a string. pino's generic serialisation of the event object (asJson walking 17
 * keys, stringify of the scopes, the redaction stringifiers, isoTime's toISOString) was the hot spot of a validation
 * with telemetry on (docs/benchmarks.md, telemetry suite): ~10 µs of a ~23 µs request. Here whatever is constant per
 * verified token or per route is serialised once, and a line costs about a microsecond.
 *
 * The line is kept byte-compatible with what pino writes for the same event through the same logger: the logger's
 * own level prefix, time function and bindings, then the keys in the order AuditLog always used, keys whose value is
 * undefined left out (as pino and JSON.stringify do). One deliberate difference: every string that came from a request
 * or a token goes through JSON.stringify, which escapes lone surrogates; pino (before Node 25) copies short strings
 * as they are, and the lone surrogate then becomes U+FFFD when the line is encoded. Both parse to the same value.
 *
 * Nothing here ever sees a token, a signature or a secret: the fields are the same as before and never carry one.
 */

/** Keys of the event, in line order; a logger that serialises any of them specially keeps pino's own path. */
const AUDIT_KEYS = [
  'event',
  'trace_id',
  'client_id',
  'grant_type',
  'scopes',
  'validation_result',
  'failure_reason',
  'failure_description',
  'auth_server',
  'kid',
  'cache',
  'duration_ms',
  'route',
  'method',
  'status',
  'enforcement',
  'let_through',
] as const;

export type AuditLevel = 'info' | 'warn';

/** What a line takes from the pino logger it imitates; see pinoLineFormat. */
export interface PinoLineFormat {
  /** The logger's destination: the stream pino itself writes to, so audit lines stay in order with other lines. */
  readonly stream: DestinationStream;
  /** `{"level":30` and `{"level":40`: pino's cached level prefixes (they already reflect formatters.level). */
  readonly levelPrefix: Readonly<Record<AuditLevel, string>>;
  /** `,"time":"…"`: pino's time function, or the equivalent isoTimeMember for pino.stdTimeFunctions.isoTime. */
  readonly time: () => string;
  /** `,"service":"tokenwatch"`: the logger's bindings, read per line (setBindings replaces them). */
  bindings(): string;
  /** `}\n` (or `}\r\n` with crlf). */
  readonly end: string;
}

interface PinoInternals {
  [key: symbol]: unknown;
}

/**
 * The format of a pino root logger's lines, when the audit line can reproduce it; undefined otherwise, and AuditLog
 * then logs through pino. Reproducible means: a root logger (a child's bindings and options are its own business)
 * writing to a plain stream (a multistream or transport that wants per-line metadata is left to pino), with no mixin,
 * hooks, log formatter or nested key, and no serializer or redaction stringifier touching one of the event's keys
 * (createLogger's redact paths do not).
 */
export function pinoLineFormat(logger: Logger): PinoLineFormat | undefined {
  const symbols = pino.symbols;
  const internals = logger as unknown as PinoInternals;
  if (!Object.hasOwn(logger, symbols.streamSym)) return undefined;
  const stream = internals[symbols.streamSym] as (DestinationStream & PinoInternals) | undefined;
  if (typeof stream?.write !== 'function' || stream[symbols.needsMetadataGsym] === true) return undefined;

  const hooks = internals[symbols.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  const formatters = internals[symbols.formattersSym] as { log?: unknown } | undefined;
  if (internals[symbols.mixinSym] || internals[symbols.nestedKeySym] || hooks?.logMethod || hooks?.streamWrite || formatters?.log) return undefined;

  const serializers = (internals[symbols.serializersSym] ?? {}) as Record<string, unknown>;
  const stringifiers = (internals[symbols.stringifiersSym] ?? {}) as Record<string | symbol, unknown>;
  const errorKey = internals[symbols.errorKeySym];
  if (stringifiers[symbols.wildcardFirstSym]) return undefined;
  for (const key of AUDIT_KEYS) {
    if (serializers[key] || stringifiers[key] || (key === errorKey && serializers.err)) return undefined;
  }

  const levelCache = internals[symbols.lsCacheSym] as Record<number, string> | undefined;
  const info = levelCache?.[logger.levels.values.info!];
  const warn = levelCache?.[logger.levels.values.warn!];
  const time = internals[symbols.timeSym];
  const end = internals[symbols.endSym];
  if (typeof info !== 'string' || typeof warn !== 'string' || typeof time !== 'function' || typeof end !== 'string') return undefined;
  if (typeof internals[symbols.chindingsSym] !== 'string') return undefined;

  return {
    stream,
    levelPrefix: { info, warn },
    time: time === pino.stdTimeFunctions.isoTime ? isoTimeMember : (time as () => string),
    bindings: () => internals[symbols.chindingsSym] as string,
    end,
  };
}

/** The whole line, as pino would write it for AuditLog's event at `level`. */
export function auditLine(format: PinoLineFormat, level: AuditLevel, report: ValidationReport): string {
  return format.levelPrefix[level] + format.time() + format.bindings() + auditMembers(report) + format.end;
}

/** `,"trace_id":"` … `"`: a trace id is 32 hex digits, which JSON leaves as they are. */
const TRACE_ID_START = Buffer.from(',"trace_id":"', 'latin1');
const TRACE_MEMBER_BYTES = TRACE_ID_START.length + TRACE_ID_DIGITS + 1;
const NUMBER_BYTES = 24;
const DURATION = Buffer.from(',"duration_ms":', 'latin1');
const STATUS_200 = ',"status":200';

/**
 * The line of a successful validation, written straight into the log's batch buffer as bytes. Building the line as a
 * string and encoding it into the batch cost more than building it (the string is flattened, then encoded): here
 * what is fixed per second, per logger, per verified token and per route is kept encoded, and a line is a few
 * copies, the milliseconds and the duration. The bytes are auditLine()'s (test/unit/audit-line.test.ts compares
 * them for every generated report). Failures, rare and with more variable members, take auditLine().
 */
export class SuccessLineWriter {
  private second = Number.NaN;
  /** `{"level":30,"time":"2026-11-24T03:06:18.`: the info prefix and the time member up to the second. */
  private secondPrefix: Buffer = Buffer.alloc(0);
  private bindingsText: string | undefined;
  /** The logger's bindings and the event member. */
  private bindingsEvent: Buffer = Buffer.alloc(0);
  /** Per verified token and cache outcome: identity, result, issuer, kid and cache members. */
  private readonly tokens = new WeakMap<VerifiedToken, Partial<Record<string, Buffer>>>();
  /** Per route and method (the common methods only: the method is the client's): the members after the duration. */
  private readonly routes = new WeakMap<RouteRule, Map<string, Buffer>>();

  constructor(
    private readonly format: PinoLineFormat,
    private readonly batcher: LineBatcher,
  ) {}

  /** Writes `report`'s line and returns true, or writes nothing and returns false (the caller uses auditLine). */
  write(report: ValidationReport, now: number = Date.now()): boolean {
    const validation = report.validation;
    if (report.failure || !validation || !report.decision.allowed || !Number.isInteger(now)) return false;
    const routeTail = this.routeTail(report.route, report.request.method);
    if (routeTail === undefined) return false;
    const tokenPart = this.tokenPart(validation.token, validation.cache);
    let millis = now - this.second;
    if (!(millis >= 0 && millis < 1000)) {
      this.newSecond(now);
      millis = now - this.second;
    }
    const bindings = this.format.bindings();
    if (bindings !== this.bindingsText) {
      this.bindingsText = bindings;
      this.bindingsEvent = Buffer.from(bindings + EVENT, 'utf8');
    }
    const span = report.trace;
    // Without a span (tracing off), the trace id of the request's own traceparent, if it carried a valid one.
    const headerTraceId = span === undefined ? traceIdOf(report.request.traceparent) : undefined;
    const hasTraceId = span !== undefined || headerTraceId !== undefined;
    const duration = Math.round(report.seconds * 1e6) / 1e3;
    const durationText = Number.isFinite(duration) ? String(duration) : 'null';

    const most =
      this.secondPrefix.length + 5 + this.bindingsEvent.length + (hasTraceId ? TRACE_MEMBER_BYTES : 0) + tokenPart.length + DURATION.length + NUMBER_BYTES + routeTail.length;
    const buffer = this.batcher.reserve(most);
    if (!buffer) return false;
    let at = this.batcher.offset;
    buffer.set(this.secondPrefix, at);
    at += this.secondPrefix.length;
    // `123Z"`: the milliseconds, then the end of the time member.
    buffer[at] = 48 + Math.floor(millis / 100);
    buffer[at + 1] = 48 + (Math.floor(millis / 10) % 10);
    buffer[at + 2] = 48 + (millis % 10);
    buffer[at + 3] = 0x5a;
    buffer[at + 4] = 0x22;
    at += 5;
    buffer.set(this.bindingsEvent, at);
    at += this.bindingsEvent.length;
    if (hasTraceId) {
      buffer.set(TRACE_ID_START, at);
      at += TRACE_ID_START.length;
      at = span !== undefined ? span.writeTraceId(buffer, at) : writeTraceIdText(headerTraceId!, buffer, at);
      buffer[at++] = 0x22;
    }
    buffer.set(tokenPart, at);
    at += tokenPart.length;
    buffer.set(DURATION, at);
    at += DURATION.length;
    // A number's text is ASCII.
    for (let index = 0; index < durationText.length; index += 1) buffer[at++] = durationText.charCodeAt(index);
    buffer.set(routeTail, at);
    at += routeTail.length;
    this.batcher.commit(at);
    return true;
  }

  private newSecond(now: number): void {
    this.second = now - (((now % 1000) + 1000) % 1000);
    const text = new Date(this.second).toISOString();
    this.secondPrefix = Buffer.from(`${this.format.levelPrefix.info},"time":"${text.slice(0, -4)}`, 'utf8');
  }

  private tokenPart(token: VerifiedToken, cache: string): Buffer {
    let parts = this.tokens.get(token);
    if (!parts) this.tokens.set(token, (parts = {}));
    let bytes = parts[cache];
    if (!bytes) {
      const members = membersOfToken(token);
      const text = members.identity + SUCCESS + (members.authServer ?? '') + (members.kid ?? '') + (CACHE_MEMBERS.get(cache) ?? member(',"cache":', cache));
      parts[cache] = bytes = Buffer.from(text, 'utf8');
    }
    return bytes;
  }

  private routeTail(route: RouteRule, method: string): Buffer | undefined {
    const methodMember = METHOD_MEMBERS.get(method);
    if (methodMember === undefined) return undefined;
    let tails = this.routes.get(route);
    if (!tails) this.routes.set(route, (tails = new Map()));
    let bytes = tails.get(method);
    if (!bytes) {
      const members = membersOfRoute(route);
      bytes = Buffer.from(members.route + methodMember + STATUS_200 + members.enforcement + this.format.end, 'utf8');
      tails.set(method, bytes);
    }
    return bytes;
  }
}

/** Parts of the line fixed by the verified token, serialised once per VerifiedToken (cache hits reuse the object). */
interface TokenMembers {
  /** `,"client_id":…,"grant_type":…,"scopes":[…]` */
  readonly identity: string;
  /** `,"auth_server":…`, or undefined when the token has no issuer (the failure's context then says). */
  readonly authServer: string | undefined;
  /** `,"kid":…`, or undefined when the key has no kid (likewise). */
  readonly kid: string | undefined;
}

/** Parts of the line fixed by the route; RouteRule objects are created once, at start-up. */
interface RouteMembers {
  /** `,"route":…` */
  readonly route: string;
  /** `,"enforcement":…` */
  readonly enforcement: string;
}

const tokenMembersCache = new WeakMap<VerifiedToken, TokenMembers>();
const routeMembersCache = new WeakMap<RouteRule, RouteMembers>();

const EVENT = ',"event":"token_validated"';
const SUCCESS = ',"validation_result":"success"';
const FAILURE = ',"validation_result":"failure"';
const LET_THROUGH = ',"let_through":true';
const REASON_MEMBERS: ReadonlyMap<string, string> = new Map(FAILURE_REASONS.map((reason) => [reason, `,"failure_reason":${JSON.stringify(reason)}`]));
const CACHE_MEMBERS: ReadonlyMap<string, string> = new Map(['hit', 'miss'].map((cache) => [cache, `,"cache":${JSON.stringify(cache)}`]));
const METHOD_MEMBERS: ReadonlyMap<string, string> = new Map(
  ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE'].map((method) => [method, `,"method":${JSON.stringify(method)}`]),
);

/**
 * The event's members, from `,"event":"token_validated"` to the last one, without braces. Same values and order as
 * the object AuditLog used to hand to pino (audit-log.ts still builds that object for the loggers this cannot imitate).
 */
function auditMembers(report: ValidationReport): string {
  const failure = report.failure;
  const context = failure?.context;
  const token = report.validation?.token;
  const tokenMembers = token ? membersOfToken(token) : undefined;
  const routeMembers = membersOfRoute(report.route);

  let line = EVENT + member(',"trace_id":', report.trace?.traceId ?? traceIdOf(report.request.traceparent));
  if (tokenMembers) line += tokenMembers.identity;
  if (failure) {
    line += FAILURE;
    line += REASON_MEMBERS.get(failure.reason) ?? member(',"failure_reason":', failure.reason);
    line += member(',"failure_description":', failure.description);
  } else {
    line += SUCCESS;
  }
  line += tokenMembers?.authServer ?? member(',"auth_server":', context?.issuer);
  line += tokenMembers?.kid ?? member(',"kid":', context?.kid);
  const cache = report.validation?.cache ?? context?.cache;
  line += (cache !== undefined && CACHE_MEMBERS.get(cache)) || member(',"cache":', cache);
  line += numberMember(',"duration_ms":', Math.round(report.seconds * 1e6) / 1e3);
  line += routeMembers.route;
  const method = report.request.method;
  line += METHOD_MEMBERS.get(method) ?? member(',"method":', method);
  line += numberMember(',"status":', report.decision.allowed ? 200 : report.decision.denial!.status);
  line += routeMembers.enforcement;
  if (failure && report.decision.allowed) line += LET_THROUGH;
  return line;
}

function membersOfToken(token: VerifiedToken): TokenMembers {
  let members = tokenMembersCache.get(token);
  if (!members) {
    members = {
      identity: member(',"client_id":', token.clientId) + member(',"grant_type":', token.grantType) + member(',"scopes":', [...token.scopes]),
      authServer: token.issuer === undefined ? undefined : member(',"auth_server":', token.issuer),
      kid: token.key.kid === undefined ? undefined : member(',"kid":', token.key.kid),
    };
    tokenMembersCache.set(token, members);
  }
  return members;
}

function membersOfRoute(route: RouteRule): RouteMembers {
  let members = routeMembersCache.get(route);
  if (!members) {
    members = { route: member(',"route":', route.pattern), enforcement: member(',"enforcement":', route.enforcement) };
    routeMembersCache.set(route, members);
  }
  return members;
}

/**
 * `prefix` (`,"key":`, a constant) and the value as JSON, or nothing for a value JSON cannot hold (undefined, a
 * function), as pino leaves such keys out. JSON.stringify escapes quotes, backslashes, control characters and lone
 * surrogates, so no value can end its string early or split the line.
 */
function member(prefix: string, value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  return json === undefined ? '' : prefix + json;
}

/** A number as pino writes one: as is when finite, null otherwise. */
function numberMember(prefix: string, value: number): string {
  return prefix + (Number.isFinite(value) ? String(value) : 'null');
}

/** `000Z"` … `999Z"`: the end of the time member for each millisecond. */
const MILLIS_ENDS = Array.from({ length: 1000 }, (_, ms) => `${String(ms).padStart(3, '0')}Z"`);
let cachedSecond = Number.NaN;
let cachedSecondText = '';

/**
 * pino.stdTimeFunctions.isoTime (`,"time":"2026-11-23T20:40:01.123Z"`) with the text up to the second formatted once
 * per second: `new Date().toISOString()` alone cost half a microsecond, as much as the rest of the line.
 */
export function isoTimeMember(now: number = Date.now()): string {
  const ms = now - cachedSecond;
  const end = ms >= 0 && ms < 1000 ? MILLIS_ENDS[ms] : undefined;
  return end === undefined ? refreshSecond(now) : cachedSecondText + end;
}

function refreshSecond(now: number): string {
  const text = new Date(now).toISOString();
  if (Number.isInteger(now)) {
    cachedSecond = now - (((now % 1000) + 1000) % 1000);
    cachedSecondText = `,"time":"${text.slice(0, -4)}`;
  }
  return `,"time":"${text}"`;
}
