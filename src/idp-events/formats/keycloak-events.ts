import { SESSION_GONE_ERRORS } from '../error-codes.js';
import type { IdpEvent } from '../event.js';
import { grantTypeLabel } from '../grant-types.js';
import type { KeycloakFields } from './keycloak-message.js';
import { mentionsReuse, withRefreshToken } from './refresh-token-fields.js';

/** Keycloak event types (org.keycloak.events.EventType) that mint tokens, and the grant they stand for. */
const GRANT_BY_EVENT_TYPE: ReadonlyMap<string, string> = new Map([
  ['CODE_TO_TOKEN', 'authorization_code'],
  ['CLIENT_LOGIN', 'client_credentials'],
  ['REFRESH_TOKEN', 'refresh_token'],
  ['TOKEN_EXCHANGE', 'token_exchange'],
  ['OAUTH2_DEVICE_CODE_TO_TOKEN', 'device_code'],
  ['AUTHREQID_TO_TOKEN', 'ciba'],
  ['PERMISSION_TOKEN', 'uma_ticket'],
]);

const ERROR_SUFFIX = '_ERROR';

/**
 * Maps one Keycloak event onto the common shape. `*_ERROR` types are OAuth errors; LOGOUT is a logout and ends its
 * session; REVOKE_GRANT is a revocation (the token revocation endpoint, or a user revoking a client in the account
 * console); any other success with a sessionId is session activity. CLIENT_LOGIN is not: a client_credentials grant has
 * no user behind it, and counting it would make "active sessions" mean "busy services".
 * The direct-access grant (password) is logged as LOGIN with grant_type=password in its details.
 */
export function keycloakEvent(fields: KeycloakFields, timeMs: number | undefined): IdpEvent | 'ignored' {
  const { type, clientId, sessionId, refreshTokenId } = fields;
  if (type.endsWith(ERROR_SUFFIX)) {
    const ended = sessionId !== undefined && fields.error !== undefined && SESSION_GONE_ERRORS.has(fields.error);
    const event: IdpEvent = { outcome: 'error', error: fields.error, clientId, sessionId, session: ended ? 'ended' : undefined, timeMs };
    return withRefreshToken(event, refreshTokenId, mentionsReuse(fields.reason));
  }
  if (type === 'LOGOUT') return { outcome: 'logout', clientId, sessionId, session: sessionId === undefined ? undefined : 'ended', timeMs };
  if (type === 'REVOKE_GRANT') return { outcome: 'revoked', clientId, timeMs };
  const grant = GRANT_BY_EVENT_TYPE.get(type) ?? (type === 'LOGIN' && fields.grantType === 'password' ? 'password' : undefined);
  const session = sessionId !== undefined && type !== 'CLIENT_LOGIN' ? 'active' : undefined;
  if (grant !== undefined) return withRefreshToken({ outcome: 'issued', grantType: grantTypeLabel(grant), clientId, sessionId, session, timeMs }, refreshTokenId, false);
  return session === undefined ? 'ignored' : { outcome: 'session', clientId, sessionId, session, timeMs };
}
