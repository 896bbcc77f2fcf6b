import type { ParseResult } from '../event.js';
import { grantTypeLabel } from '../grant-types.js';
import { type JsonObject, parseJsonObject, stringField, timeField } from './json-fields.js';

/**
 * `format: oidc-provider`: the event log of the embedded dev IdP (npm oidc-provider v9), one JSON object per
 * line, written by oidcProviderEventLine() from the provider's events:
 *
 *   {"event":"grant.success","time":1718000000000,"client_id":"orders","grant_type":"client_credentials"}
 *   {"event":"grant.success","time":…,"client_id":"web","grant_type":"refresh_token","account_id":"u1","session_id":"…"}
 *   {"event":"grant.error","time":…,"client_id":"orders","grant_type":"client_credentials","error":"invalid_client"}
 *   {"event":"end_session.success","time":…,"client_id":"web","account_id":"u1","session_id":"…"}
 *   {"event":"refresh_token.destroyed","time":…,"client_id":"web"}
 *
 * `session_id` is the session's uid (the `sid` of its ID tokens), never the session cookie's value.
 * `end_session.success` is a logout; `session_id` is written only when the whole session ended with it.
 * A `*.destroyed` line is a token revoked before it expired: oidc-provider destroys an access token, client
 * credentials token or refresh token when it is revoked at the revocation endpoint, and a refresh token presented
 * again after rotation (its reuse detection, which revokes the grant too).
 */

/** Events worth a line; subscribe to these (`provider.on(name, …)`) and hand each to oidcProviderEventLine. */
export const OIDC_PROVIDER_EVENTS = [
  'grant.success',
  'grant.error',
  'authorization.error',
  'end_session.success',
  'end_session.error',
  'access_token.destroyed',
  'client_credentials.destroyed',
  'refresh_token.destroyed',
  'introspection.error',
  'revocation.error',
  'userinfo.error',
  'server_error',
] as const;

/** Longest client_id, account id or session id written; longer ones are cut (they only feed bounded labels). */
const MAX_FIELD_LENGTH = 256;
const ERROR_CODE = /^[a-z0-9_]{1,64}$/;
const ERROR_SUFFIX = '.error';
/** The revocable token models' `destroyed` events: the listener's argument is the token model itself. */
const REVOKED_TOKEN_EVENTS: ReadonlySet<string> = new Set(['access_token.destroyed', 'client_credentials.destroyed', 'refresh_token.destroyed']);

/**
 * The line for one oidc-provider event, or undefined for an event that has no line. Call it with the listener's own
 * arguments: `provider.on(name, (ctx, err) => { const line = oidcProviderEventLine(name, ctx, err); … })`; for a
 * `*.destroyed` event that argument is the token model, of which only the client id is read (other token model
 * events, such as `access_token.issued`, are deliberately not read).
 *
 * Only the client_id, grant_type, account id, session uid and OAuth error code are copied: never a token, code,
 * secret, assertion or any other request parameter. Never throws: it runs inside the provider's request.
 */
export function oidcProviderEventLine(eventName: string, ctx: unknown, error?: unknown, now: number = Date.now()): string | undefined {
  try {
    if (eventName === 'grant.success') return JSON.stringify({ event: eventName, time: now, ...grantFields(ctx) });
    if (REVOKED_TOKEN_EVENTS.has(eventName)) return JSON.stringify({ event: eventName, time: now, client_id: text(read(ctx, 'clientId')) });
    if (eventName === 'end_session.success') return JSON.stringify({ event: eventName, time: now, ...endSessionFields(ctx) });
    if (eventName === 'server_error' || eventName.endsWith(ERROR_SUFFIX)) {
      const code = eventName === 'server_error' ? 'server_error' : errorCode(error);
      return JSON.stringify({ event: eventName, time: now, ...requestFields(ctx), error: code });
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** Reads a property of something that may be anything; getters that throw count as absent. */
function read(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value.slice(0, MAX_FIELD_LENGTH) : undefined;
}

function requestFields(ctx: unknown): { client_id?: string; grant_type?: string } {
  const oidc = read(ctx, 'oidc');
  const params = read(oidc, 'params');
  // The authenticated client when there is one, else the client_id the request named (failed client auth).
  const clientId = text(read(read(oidc, 'client'), 'clientId')) ?? text(read(params, 'client_id'));
  return { client_id: clientId, grant_type: text(read(params, 'grant_type')) };
}

/** The entity that carries the session of a grant: the code, refresh token, device code or CIBA request. */
const SESSION_BEARING_ENTITIES = ['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'];

function grantFields(ctx: unknown): Record<string, string | undefined> {
  const oidc = read(ctx, 'oidc');
  const entities = read(oidc, 'entities');
  let sessionId: string | undefined;
  let accountId = text(read(read(oidc, 'account'), 'accountId'));
  for (const name of SESSION_BEARING_ENTITIES) {
    const entity = read(entities, name);
    if (entity === undefined) continue;
    sessionId = text(read(entity, 'sessionUid'));
    accountId ??= text(read(entity, 'accountId'));
    break;
  }
  return { ...requestFields(ctx), account_id: accountId, session_id: sessionId };
}

function endSessionFields(ctx: unknown): Record<string, string | undefined> {
  const oidc = read(ctx, 'oidc');
  const session = read(oidc, 'session');
  // A logout from one client of several leaves the session alive; only a destroyed session ends in the estimate.
  const ended = read(session, 'destroyed') === true;
  return {
    client_id: text(read(read(oidc, 'client'), 'clientId')),
    account_id: text(read(session, 'accountId')),
    session_id: ended ? text(read(session, 'uid')) : undefined,
  };
}

function errorCode(error: unknown): string {
  const code = read(error, 'error');
  return typeof code === 'string' && ERROR_CODE.test(code) ? code : 'server_error';
}

export function parseOidcProviderLine(line: string): ParseResult {
  const object = parseJsonObject(line);
  if (object === undefined) return line.trim() === '' ? 'ignored' : 'malformed';
  const event = stringField(object, 'event');
  if (event === undefined) return 'malformed';
  return eventOf(event, object);
}

function eventOf(event: string, object: JsonObject): ParseResult {
  const clientId = stringField(object, 'client_id');
  const sessionId = stringField(object, 'session_id');
  const timeMs = timeField(object, 'time');
  if (event === 'grant.success') {
    const session = sessionId === undefined ? undefined : 'active';
    return { outcome: 'issued', grantType: grantTypeLabel(stringField(object, 'grant_type')), clientId, sessionId, session, timeMs };
  }
  if (event === 'end_session.success') return { outcome: 'logout', clientId, sessionId, session: sessionId === undefined ? undefined : 'ended', timeMs };
  if (REVOKED_TOKEN_EVENTS.has(event)) return { outcome: 'revoked', clientId, timeMs };
  if (event === 'server_error' || event.endsWith(ERROR_SUFFIX)) {
    return { outcome: 'error', error: stringField(object, 'error') ?? 'server_error', clientId, sessionId, timeMs };
  }
  return 'ignored';
}
