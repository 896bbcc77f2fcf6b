import { errors as undiciErrors, request } from 'undici';
import { TokenwatchError, type ErrorCode } from '../errors.js';

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
 * GETs a JSON document from the IdP with a hard deadline and a size cap. Redirects are not followed:
 * discovery and JWKS URLs are configuration, and following a redirect would let whoever controls the
 * redirect choose the keys.
 */
export async function fetchIdpJson(url: string, options: { timeoutMs: number; maxBytes: number }): Promise<FetchedJson> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response;
  try {
    response = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'tokenwatch' },
      signal,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  } catch (error) {
    throw classify(error, signal);
  }
  try {
    if (response.statusCode < 200 || response.statusCode > 299) {
      throw new IdpFetchError('error', `HTTP ${response.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > options.maxBytes) throw new IdpFetchError('invalid', `body larger than ${options.maxBytes} bytes`);
      chunks.push(chunk);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
    } catch {
      throw new IdpFetchError('invalid', 'body is not valid JSON');
    }
    return { body, maxAgeMs: maxAgeOf(response.headers['cache-control']) };
  } catch (error) {
    // The stream may still emit the abort after we stop reading: nothing is left to handle it.
    response.body.on('error', ignore);
    response.body.destroy();
    throw error instanceof IdpFetchError ? error : classify(error, signal);
  }
}

function ignore(): void {}

function maxAgeOf(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return undefined;
  if (NO_STORE.test(value)) return 0;
  const match = MAX_AGE.exec(value);
  return match ? Number(match[1]) * 1000 : undefined;
}

function classify(error: unknown, signal: AbortSignal): IdpFetchError {
  if (
    signal.aborted ||
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError
  ) {
    return new IdpFetchError('timeout', 'timed out');
  }
  const code = (error as { code?: string }).code;
  return new IdpFetchError('error', code ? `network error ${code}` : 'network error');
}
