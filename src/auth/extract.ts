import { AuthFailure, invalidRequest } from './errors.js';

export interface CredentialSources {
  /** Every Authorization header value, from the raw headers: Node keeps only one of duplicates. */
  authorization: readonly string[];
  /** The raw query of the request the token protects (without `?`), or undefined. */
  query: string | undefined;
}

/**
 * Finds the bearer token of a request (RFC 6750 section 2). Returns undefined when there is none. A request that
 * carries a token in more than one place, or in a place not allowed, is refused as invalid_request.
 */
export function extractBearerToken(sources: CredentialSources, allowQueryToken: boolean): string | undefined {
  if (sources.authorization.length > 1) throw invalidRequest('more than one Authorization header');
  const headerToken = sources.authorization.length === 1 ? bearerFromHeader(sources.authorization[0]!) : undefined;
  const queryTokens = queryAccessTokens(sources.query);
  if (queryTokens.length === 0) return headerToken;
  if (queryTokens.length > 1) throw invalidRequest('access_token is given more than once');
  if (headerToken !== undefined) throw invalidRequest('the token is given in more than one place');
  if (!allowQueryToken) throw invalidRequest('access_token in the query is not accepted; send Authorization: Bearer');
  return nonEmpty(queryTokens[0]!);
}

/** The token of `Bearer <token>` (scheme case-insensitive); undefined for other schemes such as Basic. */
function bearerFromHeader(value: string): string | undefined {
  const space = value.indexOf(' ');
  const scheme = space === -1 ? value : value.slice(0, space);
  if (scheme.length !== 6 || scheme.toLowerCase() !== 'bearer') return undefined;
  return nonEmpty(space === -1 ? '' : value.slice(space + 1).trimStart());
}

/**
 * Only emptiness is checked here. The characters are checked by the verifier on a cache miss (each JWS part must be
 * base64url), so a hot token costs no scan: a string that hashes to a cached token's digest is that token.
 */
function nonEmpty(token: string): string {
  if (token === '') throw new AuthFailure('malformed', 'the bearer token is empty');
  return token;
}

function queryAccessTokens(query: string | undefined): string[] {
  // Cheap pre-check: most requests carry no query or one without access_token, encoded or not.
  if (!query || (!query.includes('access') && !query.includes('%'))) return [];
  return new URLSearchParams(query).getAll('access_token');
}
