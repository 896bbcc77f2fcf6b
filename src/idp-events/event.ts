/**
 * What a parser makes of one line. Every format maps its own event vocabulary onto this one shape, so
 * issuance.ts (events → metrics) knows nothing about Keycloak, the seed's jsonl or oidc-provider.
 */

/** What the event means for the active-sessions estimate. */
export type SessionEffect = 'active' | 'ended';

interface EventFields {
  readonly clientId?: string | undefined;
  readonly sessionId?: string | undefined;
  /** What the event does to the session named by sessionId, if anything. */
  readonly session?: SessionEffect | undefined;
  /** When the IdP says the event happened (Unix ms), if the line carries an unambiguous time. */
  readonly timeMs?: number | undefined;
  /** The id of the refresh token presented (a refresh grant, or its error), when the IdP logs it; never a token. */
  readonly refreshTokenId?: string | undefined;
  /** The IdP refused a refresh token because it had been used already (rotation's reuse detection). */
  readonly refreshTokenReused?: boolean | undefined;
}

export type IdpEvent =
  /** Tokens were minted; grantType is a bounded label (see grant-types.ts). */
  | (EventFields & { readonly outcome: 'issued'; readonly grantType: string })
  /** An OAuth error; the code as the IdP wrote it, labelled later (see error-codes.ts). */
  | (EventFields & { readonly outcome: 'error'; readonly error: string | undefined })
  /** A user logged out at the IdP; `session` is `ended` when the whole session ended with it. */
  | (EventFields & { readonly outcome: 'logout' })
  /** The IdP revoked a token or a grant before it expired (RFC 7009 revocation, a user revoking a client's access). */
  | (EventFields & { readonly outcome: 'revoked' })
  /** Only session activity or a session's end. */
  | (EventFields & { readonly outcome: 'session' });

/**
 * `ignored`: a line of the format that carries nothing we measure (another log line, an admin event, an event
 * type with no metric). `malformed`: a line that should be an event of the format but cannot be read.
 * Parsers return these instead of throwing: a bad line is data, not an exception.
 */
export type ParseResult = IdpEvent | 'ignored' | 'malformed';

export type LineParser = (line: string) => ParseResult;
