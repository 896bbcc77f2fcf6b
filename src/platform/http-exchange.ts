import type { Agent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { finished } from 'node:stream/promises';
import { TokenwatchError, type ErrorCode } from '../errors.js';
import { Agent as HttpAgent, request as httpRequest } from './node-http.js';

/**
 * tokenwatch's outbound HTTP client for the few small exchanges it makes itself (IdP documents, Alertmanager posts),
 * on node:http and node:https rather than undici: the undici package and the copy of it that it makes Node.js load cost
 * a pod about 9 MB resident, which only the proxy's upstream pool pays for (decision 17).
 */

/** Why an exchange gave no usable answer: no answer within the deadline, no connection or a broken one, too much body. */
export type ExchangeFailureKind = 'timeout' | 'network' | 'too-large';

/** An exchange that gave no usable answer. `detail` is Node's error code (ECONNREFUSED, ENOTFOUND...) when there is one. */
export class ExchangeFailure extends TokenwatchError {
  override readonly name = 'ExchangeFailure';
  readonly code: Extract<ErrorCode, `ERR_EXCHANGE_${string}`>;

  constructor(
    readonly kind: ExchangeFailureKind,
    readonly detail: string | undefined,
  ) {
    super(detail ? `${kind} (${detail})` : kind);
    this.code = kind === 'too-large' ? 'ERR_EXCHANGE_TOO_LARGE' : kind === 'timeout' ? 'ERR_EXCHANGE_TIMEOUT' : 'ERR_EXCHANGE_NETWORK';
  }
}

export interface ExchangeRequest {
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  /** Sent whole, with its Content-Length. */
  readonly body?: string;
  /** One deadline for all of it: queueing for a pooled connection, connecting, sending and reading the whole answer. */
  readonly timeoutMs: number;
  /** A 2xx answer's body is kept up to this many bytes, and more fails the exchange; without it the body is dropped as it arrives. */
  readonly keepBodyBytes?: number;
  /** Keep-alive connections to reuse; without it the exchange has a connection of its own, closed after it. */
  readonly pool?: ConnectionPool;
}

export interface ExchangeResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The kept body of a 2xx answer; empty otherwise (the body of an error answer is never read). */
  readonly body: Buffer;
}

const EMPTY = Buffer.alloc(0);

/**
 * Keep-alive connections to peers called again and again: at most `maxSocketsPerPeer` open to each, and an idle one
 * closed after IDLE_MS, or sooner when the peer's Keep-Alive header says it closes sooner (Node's Agent honours it).
 */
export class ConnectionPool {
  /** Below the 5 s for which Node.js servers, among many, keep an idle connection: a reused one is rarely being closed. */
  static readonly IDLE_MS = 4000;
  private readonly http: Agent;
  private readonly https: HttpsAgent;

  constructor(maxSocketsPerPeer: number) {
    const options = { keepAlive: true, maxSockets: maxSocketsPerPeer, maxFreeSockets: maxSocketsPerPeer, timeout: ConnectionPool.IDLE_MS, scheduling: 'lifo' as const };
    this.http = new HttpAgent(options);
    this.https = new HttpsAgent(options);
  }

  agentFor(protocol: string): Agent {
    return protocol === 'https:' ? this.https : this.http;
  }

  /** Closes every connection, busy or idle: call it once nothing is sent any more. */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

/**
 * One request and its whole answer within `timeoutMs`. Redirects are not followed (a 3xx is an answer like any other).
 * Rejects only with ExchangeFailure; a non-2xx status is an answer, not a failure.
 */
export async function exchange(url: string, request: ExchangeRequest): Promise<ExchangeResponse> {
  const deadline = AbortSignal.timeout(request.timeoutMs);
  try {
    const response = await answerTo(url, request, deadline);
    const status = response.statusCode ?? 0;
    if (status < 200 || status > 299) {
      response.destroy();
      return { status, headers: response.headers, body: EMPTY };
    }
    return { status, headers: response.headers, body: await bodyOf(response, request.keepBodyBytes) };
  } catch (error) {
    if (error instanceof ExchangeFailure) throw error;
    throw new ExchangeFailure(deadline.aborted ? 'timeout' : 'network', (error as { code?: string }).code);
  }
}

function answerTo(url: string, request: ExchangeRequest, signal: AbortSignal, pool = request.pool): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers = request.body === undefined ? request.headers : { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) };
    const outgoing = send(target, { method: request.method, headers, signal, agent: pool?.agentFor(target.protocol) ?? false });
    let answered = false;
    outgoing.on('response', (response) => {
      answered = true;
      resolve(response);
    });
    // Kept for the whole exchange: an abort while the body is read errors the request as well as the response.
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      // A pooled connection that the server closed while it sat idle fails before any answer: Node.js's documented
      // remedy (`request.reusedSocket`) is to send again, here on a connection of the exchange's own.
      if (!answered && outgoing.reusedSocket && error.code === 'ECONNRESET') resolve(answerTo(url, request, signal, undefined));
      else reject(error);
    });
    outgoing.end(request.body);
  });
}

async function bodyOf(response: IncomingMessage, keepBytes: number | undefined): Promise<Buffer> {
  if (keepBytes === undefined) {
    response.resume();
    await finished(response);
    return EMPTY;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > keepBytes) {
      response.destroy();
      throw new ExchangeFailure('too-large', undefined);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
