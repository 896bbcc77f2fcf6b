import type { JWTPayload } from 'jose';

/** Longest header value tokenwatch will set; a longer claim is left out rather than cut into something else. */
export const MAX_IDENTITY_HEADER_BYTES = 4096;

const VISIBLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * Precompiled claim → header mapping. Values are computed once per verified token; a value that is not printable
 * ASCII is percent-encoded as a whole (RFC 3986) so that no claim can inject a header line or break the response.
 */
export class IdentityHeaderMapper {
  private readonly mappings: ReadonlyArray<readonly [claim: string, header: string]>;

  constructor(claimHeaders: Readonly<Record<string, string>>) {
    this.mappings = Object.entries(claimHeaders);
  }

  /** Every header name tokenwatch may set: the proxy strips these from incoming requests. */
  get headerNames(): readonly string[] {
    return this.mappings.map(([, header]) => header);
  }

  headersFor(claims: JWTPayload, scopes: ReadonlySet<string>): Array<readonly [string, string]> {
    const headers: Array<readonly [string, string]> = [];
    for (const [claim, header] of this.mappings) {
      const raw = claim === 'scope' || claim === 'scp' ? (scopes.size > 0 ? [...scopes].join(' ') : undefined) : claims[claim];
      const value = headerValue(raw);
      if (value !== undefined) headers.push([header, value]);
    }
    return headers;
  }
}

function headerValue(raw: unknown): string | undefined {
  let text: string;
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' || typeof raw === 'boolean') text = String(raw);
  else if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) text = raw.join(',');
  else text = JSON.stringify(raw);
  if (!VISIBLE_ASCII.test(text)) text = encodeURIComponent(text);
  return text.length <= MAX_IDENTITY_HEADER_BYTES ? text : undefined;
}

/** Scopes from `scope` (space-separated string, RFC 8693/9068) or `scp` (array or string, as Azure AD and Okta send). */
export function scopesOf(claims: JWTPayload): Set<string> {
  const raw = typeof claims.scope === 'string' ? claims.scope : claims.scp;
  const scopes = new Set<string>();
  if (typeof raw === 'string') {
    for (const scope of raw.split(' ')) if (scope) scopes.add(scope);
  } else if (Array.isArray(raw)) {
    for (const scope of raw) if (typeof scope === 'string' && scope) scopes.add(scope);
  }
  return scopes;
}
