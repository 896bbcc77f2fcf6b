import type { ParseResult } from '../event.js';
import { grantTypeLabel } from '../grant-types.js';
import { parseJsonObject, stringField, timeField } from './json-fields.js';
import { mentionsReuse, withRefreshToken } from './refresh-token-fields.js';

/**
 * `format: jsonl`: the structured lines of the observability seed, one JSON object per line.
 *
 *   {"event":"token_issued","client_id":"my-service","grant_type":"authorization_code","user_id":"…",
 *    "scopes":["openid"],"token_type":"access","expires_in":3600,"auth_server":"keycloak"}
 *   {"event":"oauth_error","error":"invalid_grant","client_id":"my-service","grant_type":"refresh_token"}
 *
 * Optional fields read as well: `session_id` (session estimate), `time` (Unix s or ms) or `timestamp`
 * (ISO 8601). Two more events: `logout` (a user logged out; with a `session_id`, that session ended) and
 * `revocation` (a token or grant revoked before it expired), each with the `client_id` concerned:
 *
 *   {"event":"logout","client_id":"web","session_id":"…"}
 *   {"event":"revocation","client_id":"web","token_type":"refresh_token"}
 *
 * A response that carries several tokens may be logged once per token_type; only the `access` line (or a line
 * without token_type) counts as an issuance, so one grant is one issuance. Other events (the gateway's
 * `token_validated`…) are ignored.
 *
 * For refresh-token reuse detection: `refresh_token_id` names the refresh token a refresh grant presented, and an
 * `oauth_error` whose `reason` or `error_description` mentions reuse is the IdP refusing a reused one.
 */
export function parseJsonlLine(line: string): ParseResult {
  const object = parseJsonObject(line);
  if (object === undefined) return isBlank(line) ? 'ignored' : 'malformed';
  const event = stringField(object, 'event');
  if (event === undefined) return 'malformed';

  const clientId = stringField(object, 'client_id');
  const sessionId = stringField(object, 'session_id');
  const timeMs = timeField(object, 'time') ?? timeField(object, 'timestamp');
  const refreshTokenId = stringField(object, 'refresh_token_id');
  switch (event) {
    case 'token_issued': {
      const tokenType = stringField(object, 'token_type');
      if (tokenType !== undefined && tokenType !== 'access') return 'ignored';
      const session = sessionId === undefined ? undefined : 'active';
      return withRefreshToken({ outcome: 'issued', grantType: grantTypeLabel(stringField(object, 'grant_type')), clientId, sessionId, session, timeMs }, refreshTokenId, false);
    }
    case 'oauth_error': {
      const refreshTokenReused = mentionsReuse(stringField(object, 'reason')) || mentionsReuse(stringField(object, 'error_description'));
      return withRefreshToken({ outcome: 'error', error: stringField(object, 'error'), clientId, sessionId, timeMs }, refreshTokenId, refreshTokenReused);
    }
    case 'logout':
      return { outcome: 'logout', clientId, sessionId, session: sessionId === undefined ? undefined : 'ended', timeMs };
    case 'revocation':
      return { outcome: 'revoked', clientId, timeMs };
    default:
      return 'ignored';
  }
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}
