import type { AuthFailure } from '../auth/errors.js';

/** A denial ready to send: status, headers and a small JSON body carrying the stable reason code. */
export interface Denial {
  readonly status: 400 | 401 | 403 | 404 | 503;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const QUOTED_STRING_UNSAFE = /["\\\x00-\x1f\x7f-\uffff]/g;

/** Builds RFC 6750 answers. Descriptions are tokenwatch's own words: nothing from the token is ever echoed. */
export class Answers {
  private readonly realm: string;
  readonly missingToken: Denial;
  readonly routeDenied: Denial;

  constructor(realm: string) {
    this.realm = `Bearer realm="${realm}"`;
    this.missingToken = {
      status: 401,
      headers: { 'www-authenticate': this.realm, 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify({ error: 'unauthorized', reason: 'missing_token', error_description: 'a bearer token is required' }),
    };
    this.routeDenied = {
      status: 403,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify({ error: 'access_denied', reason: 'route_denied', error_description: 'this route is not open to any token' }),
    };
  }

  forFailure(failure: AuthFailure): Denial {
    if (failure.reason === 'missing_token') return this.missingToken;
    const description = failure.description.replace(QUOTED_STRING_UNSAFE, '');
    const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
    if (failure.bearerError) {
      let challenge = `${this.realm}, error="${failure.bearerError}", error_description="${description}"`;
      if (failure.bearerError === 'insufficient_scope' && failure.requiredScopes) {
        challenge += `, scope="${failure.requiredScopes.join(' ').replace(QUOTED_STRING_UNSAFE, '')}"`;
      }
      headers['www-authenticate'] = challenge;
    }
    if (failure.status === 503) headers['retry-after'] = '5';
    const body = JSON.stringify({
      error: failure.bearerError ?? 'temporarily_unavailable',
      reason: failure.reason,
      error_description: description,
    });
    return { status: failure.status, headers, body };
  }

  /** A forward-auth check outside `authz.pathPrefix`: not a check at all. */
  readonly notACheck: Denial = {
    status: 404,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify({ error: 'not_found', error_description: 'forward-auth checks are served under authz.pathPrefix' }),
  };

  /** A request whose path cannot be matched safely. */
  badPath(description: string): Denial {
    return {
      status: 400,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify({ error: 'invalid_request', reason: 'malformed', error_description: description }),
    };
  }
}
