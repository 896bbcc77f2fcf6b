import type { VerifiedToken } from '../../auth/verified-token.js';
import type { ValidationRecord } from '../../server/gate/ports.js';
import { traceIdOf } from '../tracing/tracing.js';

/** A member of the `token_validated` event: its name, the JSON schema of its value, and how the value is read. */
export interface AuditMember {
  readonly name: string;
  readonly schema: Readonly<Record<string, unknown>>;
  /** The value for a validation; undefined leaves the member out of the line. */
  readonly read: (record: ValidationRecord) => unknown;
}

const STRING = { type: 'string' };
/** A string from a closed set of plain words (a constant, a failure reason, an enforcement): nothing to escape. */
const WORD = { type: 'string', format: 'unsafe' };

/**
 * The `token_validated` event, in line order (docs/metrics.md, "Audit log"): the one list from which the audit
 * line's serialiser is compiled and the event object a logger of another kind is given is built. No member ever
 * carries a token, a signature or a secret.
 */
export const AUDIT_EVENT: readonly AuditMember[] = [
  { name: 'event', schema: WORD, read: () => 'token_validated' },
  // The span's trace id; with tracing off, the one of the request's own traceparent, if it carried a valid one.
  { name: 'trace_id', schema: STRING, read: (record) => record.trace?.traceId ?? traceIdOf(record.request.traceparent) },
  { name: 'client_id', schema: STRING, read: (record) => record.token?.clientId },
  { name: 'grant_type', schema: STRING, read: (record) => record.token?.grantType },
  { name: 'scopes', schema: { type: 'array', items: STRING }, read: (record) => (record.token ? scopesOf(record.token) : undefined) },
  { name: 'validation_result', schema: WORD, read: (record) => (record.failure ? 'failure' : 'success') },
  { name: 'failure_reason', schema: WORD, read: (record) => record.failure?.reason },
  { name: 'failure_description', schema: STRING, read: (record) => record.failure?.description },
  { name: 'auth_server', schema: STRING, read: (record) => record.issuer },
  { name: 'kid', schema: STRING, read: (record) => record.kid },
  { name: 'cache', schema: WORD, read: (record) => record.cache },
  // Milliseconds to the microsecond; a value JSON cannot hold is null, as pino writes it.
  { name: 'duration_ms', schema: { type: ['number', 'null'] }, read: (record) => finiteOrNull(Math.round(record.seconds * 1e6) / 1e3) },
  { name: 'route', schema: STRING, read: (record) => record.route.pattern },
  { name: 'method', schema: STRING, read: (record) => record.request.method },
  { name: 'status', schema: { type: 'integer' }, read: (record) => record.status },
  { name: 'enforcement', schema: WORD, read: (record) => record.route.enforcement },
  { name: 'let_through', schema: { type: 'boolean' }, read: (record) => (record.letThrough ? true : undefined) },
];

/** The event as an object, for a logger that serialises it itself. */
export function auditEvent(record: ValidationRecord): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const member of AUDIT_EVENT) event[member.name] = member.read(record);
  return event;
}

/** What the audit line reads of a verified token, made once per token: cache hits reuse the token object. */
interface TokenFacts {
  readonly scopes: readonly string[];
  /** Every string the line takes from the token is printable ASCII with no `"` or `\\`: JSON needs no escape. */
  readonly plain: boolean;
}

const tokenFacts = new WeakMap<VerifiedToken, TokenFacts>();

/** Printable ASCII less `"` and `\\`: a string JSON writes as it is. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function factsOf(token: VerifiedToken): TokenFacts {
  let facts = tokenFacts.get(token);
  if (!facts) {
    const scopes = [...token.scopes];
    const strings = [token.clientId, token.grantType, token.issuer, token.key.kid, ...scopes];
    facts = { scopes, plain: strings.every((text) => text === undefined || PLAIN.test(text)) };
    tokenFacts.set(token, facts);
  }
  return facts;
}

function scopesOf(token: VerifiedToken): readonly string[] {
  return factsOf(token).scopes;
}

/**
 * Whether every string member of a successful validation's line is plain (see PLAIN), so the line can be written
 * without checking each string for characters to escape: the token's strings (checked once per token), the issuer
 * and kid when they are the token's, the route pattern and the method. A failure's description, or anything else,
 * takes the escaping serialiser.
 */
export function plainSuccess(record: ValidationRecord): boolean {
  const token = record.token;
  if (record.failure !== undefined || token === undefined) return false;
  return (
    factsOf(token).plain &&
    record.issuer === token.issuer &&
    record.kid === token.key.kid &&
    PLAIN.test(record.route.pattern) &&
    PLAIN.test(record.request.method)
  );
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
