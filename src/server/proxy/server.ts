import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../logging/logger.js';
import type { AccessGate, GateDecision } from '../gate/access-gate.js';
import type { Denial } from '../gate/answers.js';
import { credentialAndTraceHeaders } from '../forward-auth/original-request.js';
import { LISTENER_KEEP_ALIVE_TIMEOUT_MS } from '../http/options.js';
import type { IdentitySpoofObserver } from '../gate/identity-aliases.js';
import type { RequestObserver } from '../http/request-observer.js';
import type { DataPlaneHandlers } from '../http/swappable-listener.js';
import { BODY_TOO_LARGE, SHUTTING_DOWN, writeProxyAnswer } from './answers.js';
import { BodyLimit, closesAfterRefusal, planBody, type BodyPlan } from './body.js';
import { ProxyExchange, type ExchangeContext, type UpstreamObserver } from './exchange.js';
import { UpstreamRequestHeaders, upstreamTarget } from './request-headers.js';
import { WebSocketProxy } from './websocket.js';

export type { UpstreamObserver, UpstreamStatusClass } from './exchange.js';

export interface ProxyServerDeps {
  config: Config;
  gate: AccessGate;
  /** Header names tokenwatch sets from claims: stripped from every incoming request, whatever their case. */
  identityHeaderNames: readonly string[];
  /** Told of every request whose aliases of identity headers were dropped: `identity_header_spoof_total`, audit log. */
  spoofObserver: IdentitySpoofObserver;
  logger: Logger;
  /** Told how long each upstream request took to answer (or fail): `upstream_request_duration_seconds`. */
  upstreamObserver?: UpstreamObserver;
  /** Told of every request and of each one tokenwatch fails itself: the availability SLI. */
  requestObserver?: RequestObserver;
  /** False once the listener stopped accepting: requests still arriving on kept-alive connections are turned away. */
  listening: () => boolean;
}

const INTERNAL_ERROR = ['content-type', 'application/json', 'content-length', '2', 'cache-control', 'no-store', 'connection', 'close'];

/**
 * Reverse-proxy mode: tokenwatch is the pod's front door. Every request goes through the AccessGate; allowed ones
 * are streamed to the upstream (pooled undici connections) at exactly the path the routes matched, with identity
 * headers the client cannot forge. WebSocket handshakes go through the same gate before they are tunnelled.
 *
 * A plain node:http server with one handler for every method and path, as in forward-auth mode: tokenwatch never
 * parses a body or routes by URL, and Fastify's reply pipeline plus a Readable per upstream answer cost more than
 * half of a proxied request (docs/decisions/0004-proxy-data-plane.md).
 */
export function buildProxyHandlers({ config, gate, identityHeaderNames, spoofObserver, logger, upstreamObserver, requestObserver, listening }: ProxyServerDeps): DataPlaneHandlers {
  if (config.upstream === undefined) throw new Error('mode: proxy needs upstream');
  const upstream = new URL(config.upstream);
  const pool = new Pool(upstream.origin, {
    // At most this many sockets to the app; requests beyond them wait in the pool's queue for a free one.
    connections: config.limits.upstreamConnections,
    headersTimeout: config.upstreamTimeout,
    bodyTimeout: config.upstreamTimeout,
    connect: { timeout: config.upstreamTimeout },
  });
  const requestHeaders = new UpstreamRequestHeaders(identityHeaderNames, config.forwardToken, upstream.host, spoofObserver);
  const bodyBytes = config.limits.bodyBytes;
  const websockets = new WebSocketProxy({ gate, headers: requestHeaders, upstream, timeoutMs: config.upstreamTimeout, logger });
  const context: ExchangeContext = { logger, observer: upstreamObserver, requests: requestObserver };
  // Decisions still awaiting keys: the pool must stay open until each has dispatched its request (or answered).
  const undecided = new PendingCount();

  function forward(request: IncomingMessage, response: ServerResponse): void {
    const body = planBody(request, bodyBytes);
    if (body === 'too-large') return writeProxyAnswer(response, BODY_TOO_LARGE, true);
    const decision = gate.decide({ method: request.method!, target: request.url!, ...credentialAndTraceHeaders(request.rawHeaders) });
    if (decision instanceof Promise) {
      undecided.add();
      decision
        .then(
          (settled) => proceed(request, response, body, settled),
          (error: unknown) => onFailure(response, error),
        )
        .finally(undecided.done);
    } else {
      proceed(request, response, body, decision);
    }
  }

  function proceed(request: IncomingMessage, response: ServerResponse, body: BodyPlan, decision: GateDecision): void {
    if (!decision.allowed) return writeDenial(response, decision.denial!, closesAfterRefusal(request, body));
    const limitedBody = body === 'chunked' ? request.pipe(new BodyLimit(bodyBytes)) : undefined;
    const exchange = new ProxyExchange(context, request, response, decision.path!, limitedBody, performance.now());
    pool.dispatch(
      {
        method: request.method!,
        path: upstreamTarget(decision),
        headers: requestHeaders.build(request, decision.identityHeaders, decision.trace?.traceparent()),
        body: limitedBody ?? (body === 'sized' ? request : null),
      },
      exchange,
    );
  }

  function onFailure(response: ServerResponse, error: unknown): void {
    logger.error({ event: 'proxy_failed', error: (error as Error).message }, 'proxied request failed');
    requestObserver?.requestFailed('internal_error');
    if (response.headersSent) return void response.destroy();
    response.writeHead(500, INTERNAL_ERROR);
    response.end('{}');
  }

  return {
    request(request, response) {
      requestObserver?.requestReceived();
      if (!listening()) {
        requestObserver?.requestFailed('shutting_down');
        return writeProxyAnswer(response, SHUTTING_DOWN, true);
      }
      try {
        forward(request, response);
      } catch (error) {
        onFailure(response, error);
      }
    },
    upgrade: websockets.onUpgrade,
    drain: () => websockets.drain(config.shutdownTimeout),
    // undici's close lets dispatched requests finish and refuses new ones, so it waits for pending decisions first.
    close: async () => {
      await undecided.settled();
      await pool.close();
    },
  };
}

/**
 * Options of the proxy listener. Uploads may be long (requestTimeout 0); a client still has
 * headersTimeout (60 s) to send its request head. Idle keep-alive connections stay open 72 s (see
 * LISTENER_KEEP_ALIVE_TIMEOUT_MS).
 */
export function proxyServerOptions(config: Pick<Config, 'limits'>): ServerOptions {
  return { maxHeaderSize: config.limits.headerBytes, keepAliveTimeout: LISTENER_KEEP_ALIVE_TIMEOUT_MS, requestTimeout: 0 };
}

/** A count of work under way, and a promise of the moment it reaches zero. */
class PendingCount {
  private count = 0;
  private waiters: Array<() => void> = [];

  add(): void {
    this.count += 1;
  }

  readonly done = (): void => {
    this.count -= 1;
    if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
  };

  settled(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

function writeDenial(response: ServerResponse, denial: Denial, close: boolean): void {
  response.writeHead(denial.status, (close ? [...denial.rawHeaders, 'connection', 'close'] : denial.rawHeaders) as string[]);
  response.end(denial.body);
}
