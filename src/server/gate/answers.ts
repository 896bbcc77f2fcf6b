import type { AuthFailure } from '../../auth/errors.js';

/** A denial ready to send: status, headers and a small JSON body carrying the stable reason code. */
export interface Denial {
  readonly status: 400 | 401 | 403 | 404 | 503;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The same headers plus content-length, flat as `writeHead` takes them: built once per distinct answer. */
  readonly rawHeaders: readonly string[];
}

const QUOTED_STRING_UNSAFE = /["\\\x00-\x1f\x7f-\uffff]/g;
const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;
/** Distinct answers are few (reason × description × route scopes, all tokenwatch's own strings); bound them anyway. */
const MAX_CACHED_ANSWERS = 1024;

/** Builds RFC 6750 answers. Descriptions are tokenwatch's own words: nothing from the token is ever echoed. */
export class Answers {
  private readonly realm: string;
  private readonly byFailure = new Map<string, Denial>();
  readonly missingToken: Denial;
  readonly routeDenied: Denial;
  /** A forward-auth check outside `authz.pathPrefix`: not a check at all. */
  readonly notACheck: Denial;
  /** A forward-auth check whose request carries an alias of an identity header (identity-aliases.ts). */
  readonly identityHeaderSpoof: Denial;

  constructor(realm: string) {
    this.realm = `Bearer realm="${realm}"`;
    this.missingToken = denial(401, { 'www-authenticate': this.realm, ...JSON_HEADERS }, {
      error: 'unauthorized',
      reason: 'missing_token',
      error_description: 'a bearer token is required',
    });
    this.routeDenied = denial(403, JSON_HEADERS, { error: 'access_denied', reason: 'route_denied', error_description: 'this route is not open to any token' });
    this.notACheck = denial(404, JSON_HEADERS, { error: 'not_found', error_description: 'forward-auth checks are served under authz.pathPrefix' });
    const spoofDescription = 'the request carries a header name that aliases an identity header';
    this.identityHeaderSpoof = denial(400, { 'www-authenticate': `${this.realm}, error="invalid_request", error_description="${spoofDescription}"`, ...JSON_HEADERS }, {
      error: 'invalid_request',
      reason: 'identity_header_spoof',
      error_description: spoofDescription,
    });
  }

  forFailure(failure: AuthFailure): Denial {
    if (failure.reason === 'missing_token') return this.missingToken;
    const key = `${failure.status} ${failure.reason} ${failure.requiredScopes?.join(' ') ?? ''} ${failure.description}`;
    let answer = this.byFailure.get(key);
    if (!answer) {
      answer = this.build(failure);
      if (this.byFailure.size < MAX_CACHED_ANSWERS) this.byFailure.set(key, answer);
    }
    return answer;
  }

  /** A request whose path cannot be matched safely. */
  badPath(description: string): Denial {
    return denial(400, JSON_HEADERS, { error: 'invalid_request', reason: 'malformed', error_description: description });
  }

  private build(failure: AuthFailure): Denial {
    const description = failure.description.replace(QUOTED_STRING_UNSAFE, '');
    const headers: Record<string, string> = {};
    if (failure.bearerError) {
      let challenge = `${this.realm}, error="${failure.bearerError}", error_description="${description}"`;
      if (failure.bearerError === 'insufficient_scope' && failure.requiredScopes) {
        challenge += `, scope="${failure.requiredScopes.join(' ').replace(QUOTED_STRING_UNSAFE, '')}"`;
      }
      headers['www-authenticate'] = challenge;
    }
    if (failure.status === 503) headers['retry-after'] = '5';
    return denial(failure.status, { ...headers, ...JSON_HEADERS }, {
      error: failure.bearerError ?? 'temporarily_unavailable',
      reason: failure.reason,
      error_description: description,
    });
  }
}

function denial(status: Denial['status'], headers: Readonly<Record<string, string>>, body: Record<string, string>): Denial {
  const text = JSON.stringify(body);
  const rawHeaders = [...Object.entries(headers).flat(), 'content-length', String(Buffer.byteLength(text))];
  return { status, headers, body: text, rawHeaders };
}
