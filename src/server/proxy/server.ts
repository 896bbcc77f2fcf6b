import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'undici';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../logging/logger.js';
import type { AccessGate, GateDecision } from '../gate/access-gate.js';
import type { Denial } from '../gate/answers.js';
import { credentialAndTraceHeaders } from '../forward-auth/original-request.js';
import { LISTENER_KEEP_ALIVE_TIMEOUT_MS } from '../http/options.js';
import type { IdentitySpoofObserver } from '../gate/identity-aliases.js';
import { httpListener, type Listener } from '../http/listener.js';
import type { RequestObserver } from '../http/request-observer.js';
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
export function buildProxyServer({ config, gate, identityHeaderNames, spoofObserver, logger, upstreamObserver, requestObserver }: ProxyServerDeps): Listener {
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

  function forward(request: IncomingMessage, response: ServerResponse): void {
    const body = planBody(request, bodyBytes);
    if (body === 'too-large') return writeProxyAnswer(response, BODY_TOO_LARGE, true);
    const decision = gate.decide({ method: request.method!, target: request.url!, ...credentialAndTraceHeaders(request.rawHeaders) });
    if (decision instanceof Promise) {
      decision.then(
        (settled) => proceed(request, response, body, settled),
        (error: unknown) => onFailure(response, error),
      );
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

  // Uploads may be long (requestTimeout 0, as on Fastify's listeners); a client still has headersTimeout (60 s) to
  // send its request head. Idle keep-alive connections stay open 72 s (see LISTENER_KEEP_ALIVE_TIMEOUT_MS).
  const server = createServer(
    { maxHeaderSize: config.limits.headerBytes, keepAliveTimeout: LISTENER_KEEP_ALIVE_TIMEOUT_MS, requestTimeout: 0 },
    (request, response) => {
      requestObserver?.requestReceived();
      // Once shutdown has begun, requests still arriving on kept-alive connections are turned away.
      if (!server.listening) {
        requestObserver?.requestFailed('shutting_down');
        return writeProxyAnswer(response, SHUTTING_DOWN, true);
      }
      try {
        forward(request, response);
      } catch (error) {
        onFailure(response, error);
      }
    },
  );
  server.on('upgrade', websockets.onUpgrade);
  return httpListener(server, {
    beforeClose: () => websockets.drain(config.shutdownTimeout),
    afterClose: () => pool.close(),
  });
}

function writeDenial(response: ServerResponse, denial: Denial, close: boolean): void {
  response.writeHead(denial.status, (close ? [...denial.rawHeaders, 'connection', 'close'] : denial.rawHeaders) as string[]);
  response.end(denial.body);
}
