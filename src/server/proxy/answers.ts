import type { ServerResponse } from 'node:http';

/** An answer tokenwatch gives itself in proxy mode when the exchange with the upstream cannot happen. */
export interface ProxyAnswer<Reason extends string = string> {
  readonly status: 400 | 413 | 502 | 503 | 504;
  readonly reason: Reason;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The headers plus content-length, flat as `writeHead` takes them. */
  readonly rawHeaders: readonly string[];
  /** The same with `connection: close`, for a request whose body was left unread. */
  readonly closingRawHeaders: readonly string[];
}

function answer<const Reason extends string>(status: ProxyAnswer['status'], error: string, reason: Reason, description: string): ProxyAnswer<Reason> {
  const headers = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  const body = JSON.stringify({ error, reason, error_description: description });
  const rawHeaders = [...Object.entries(headers).flat(), 'content-length', String(Buffer.byteLength(body))];
  return { status, reason, headers, body, rawHeaders, closingRawHeaders: [...rawHeaders, 'connection', 'close'] };
}

/** Writes one of tokenwatch's own answers, closing the connection after it when `close` is set. */
export function writeProxyAnswer(response: ServerResponse, proxyAnswer: ProxyAnswer, close: boolean): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(proxyAnswer.status, (close ? proxyAnswer.closingRawHeaders : proxyAnswer.rawHeaders) as string[]);
  response.end(proxyAnswer.body);
}

export const BODY_TOO_LARGE = answer(413, 'payload_too_large', 'body_too_large', 'the request body exceeds limits.bodyBytes');
export const UPSTREAM_UNREACHABLE = answer(502, 'bad_gateway', 'upstream_unreachable', 'the upstream could not be reached');
export const UPSTREAM_FAILED = answer(502, 'bad_gateway', 'upstream_failed', 'the upstream closed the connection or answered with invalid HTTP');
export const UPSTREAM_TIMEOUT = answer(504, 'gateway_timeout', 'upstream_timeout', 'the upstream did not answer within upstreamTimeout');
export const UNSUPPORTED_UPGRADE = answer(400, 'invalid_request', 'unsupported_upgrade', 'only WebSocket upgrades are proxied');
export const SHUTTING_DOWN = answer(503, 'temporarily_unavailable', 'shutting_down', 'tokenwatch is shutting down');

/** Error codes of a connection that could not be opened (Node and undici spellings). */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
/** Error codes of an upstream that took longer than upstreamTimeout to connect or to send its response head. */
const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** 502 or 504 for an exchange with the upstream that failed before its response head arrived. */
export function upstreamFailure(error: unknown): typeof UPSTREAM_UNREACHABLE | typeof UPSTREAM_FAILED | typeof UPSTREAM_TIMEOUT {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (TIMEOUT_CODES.has(code)) return UPSTREAM_TIMEOUT;
    if (UNREACHABLE_CODES.has(code)) return UPSTREAM_UNREACHABLE;
  }
  return UPSTREAM_FAILED;
}
