import { TokenwatchError, type ErrorCode } from '../errors.js';
import { ConnectionPool, exchange, type ExchangeFailure } from '../platform/http-exchange.js';

/** Outcome classes of a fetch from the IdP, used as the `result` label of `jwks_fetch_total`. */
export type IdpFetchResult = 'success' | 'error' | 'timeout' | 'invalid';

/** A failed fetch from the IdP with its class; the message is safe to log (no bodies, no secrets). */
export class IdpFetchError extends TokenwatchError {
  override readonly name = 'IdpFetchError';
  readonly code: Extract<ErrorCode, `ERR_IDP_FETCH_${string}`>;

  constructor(
    readonly result: Exclude<IdpFetchResult, 'success'>,
    message: string,
  ) {
    super(message);
    this.code = `ERR_IDP_FETCH_${result.toUpperCase() as Uppercase<typeof result>}`;
  }
}

/** Cap on discovery and JWKS documents: real ones are a few KiB. */
export const IDP_DOCUMENT_MAX_BYTES = 512 * 1024;

/** OIDC Discovery 1.0 section 4: the configuration document of an issuer. */
export function discoveryUrlOf(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

export interface FetchedJson {
  body: unknown;
  /** max-age from Cache-Control in milliseconds, when the IdP sent one. */
  maxAgeMs: number | undefined;
}

const MAX_AGE = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?\s*(?:,|$)/i;
const NO_STORE = /(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)/i;

/**
 * Connections to the IdPs, shared by every issuer: discovery and the JWKS that follows it, or several issuers on one
 * host, reuse a connection; a few per host are plenty for documents fetched minutes apart.
 */
const IDP_CONNECTIONS = new ConnectionPool(4);

/**
 * GETs a JSON document from the IdP with a hard deadline and a size cap. Redirects are not followed:
 * discovery and JWKS URLs are configuration, and following a redirect would let whoever controls the
 * redirect choose the keys.
 */
export async function fetchIdpJson(url: string, options: { timeoutMs: number; maxBytes: number }): Promise<FetchedJson> {
  let response;
  try {
    response = await exchange(url, {
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'tokenwatch' },
      timeoutMs: options.timeoutMs,
      keepBodyBytes: options.maxBytes,
      pool: IDP_CONNECTIONS,
    });
  } catch (error) {
    throw idpFetchErrorOf(error as ExchangeFailure, options.maxBytes);
  }
  if (response.status < 200 || response.status > 299) throw new IdpFetchError('error', `HTTP ${response.status}`);
  let body: unknown;
  try {
    body = JSON.parse(response.body.toString('utf8'));
  } catch {
    throw new IdpFetchError('invalid', 'body is not valid JSON');
  }
  return { body, maxAgeMs: maxAgeOf(response.headers['cache-control']) };
}

function maxAgeOf(header: string | undefined): number | undefined {
  if (!header) return undefined;
  if (NO_STORE.test(header)) return 0;
  const match = MAX_AGE.exec(header);
  return match ? Number(match[1]) * 1000 : undefined;
}

function idpFetchErrorOf(failure: ExchangeFailure, maxBytes: number): IdpFetchError {
  switch (failure.kind) {
    case 'timeout':
      return new IdpFetchError('timeout', 'timed out');
    case 'too-large':
      return new IdpFetchError('invalid', `body larger than ${maxBytes} bytes`);
    case 'network':
      return new IdpFetchError('error', failure.detail ? `network error ${failure.detail}` : 'network error');
  }
}
