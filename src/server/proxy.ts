import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Pool, type Dispatcher } from 'undici';
import type { Config } from '../config/schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { AccessGate } from './access-gate.js';
import type { Answers } from './answers.js';
import { credentialAndTraceHeaders } from './forward-auth.js';
import { stripHopByHop } from './hop-by-hop.js';
import { listenerOptions } from './http-options.js';
import { BODY_TOO_LARGE, UPSTREAM_FAILED, upstreamFailure } from './proxy-answers.js';
import { BodyLimit, BodyTooLarge, planBody } from './proxy-body.js';
import { UpstreamRequestHeaders, upstreamTarget } from './proxy-request.js';
import { WebSocketProxy } from './websocket-proxy.js';

export interface ProxyServerDeps {
  config: Config;
  gate: AccessGate;
  answers: Answers;
  /** Header names tokenwatch sets from claims: stripped from every incoming request, whatever their case. */
  identityHeaderNames: readonly string[];
  logger: Logger;
  /** Told how long each upstream request took to answer (or fail): `upstream_request_duration_seconds`. */
  upstreamObserver?: UpstreamObserver;
}

export type UpstreamStatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'error';

export interface UpstreamObserver {
  upstreamAnswered(statusClass: UpstreamStatusClass, seconds: number): void;
}

const STATUS_CLASSES: readonly UpstreamStatusClass[] = ['error', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** Methods routed explicitly; any other method reaches the same handler through the not-found handler. */
const METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'];

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Reverse-proxy mode: tokenwatch is the pod's front door. Every request goes through the AccessGate; allowed ones
 * are streamed to the upstream (pooled undici connections) at exactly the path the routes matched, with identity
 * headers the client cannot forge. WebSocket handshakes go through the same gate before they are tunnelled.
 */
export function buildProxyServer({ config, gate, identityHeaderNames, logger, upstreamObserver }: ProxyServerDeps): FastifyInstance {
  if (config.upstream === undefined) throw new Error('mode: proxy needs upstream');
  const upstream = new URL(config.upstream);
  const pool = new Pool(upstream.origin, {
    headersTimeout: config.upstreamTimeout,
    bodyTimeout: config.upstreamTimeout,
    connect: { timeout: config.upstreamTimeout },
  });
  const requestHeaders = new UpstreamRequestHeaders(identityHeaderNames, config.forwardToken, upstream.host);
  const bodyBytes = config.limits.bodyBytes;
  const websockets = new WebSocketProxy({ gate, headers: requestHeaders, upstream, timeoutMs: config.upstreamTimeout, logger });

  async function forward(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const raw = request.raw;
    const body = planBody(raw, bodyBytes);
    if (body === 'too-large') return send(reply.header('connection', 'close'), BODY_TOO_LARGE);
    const decision = await gate.decide({ method: raw.method!, target: raw.url!, ...credentialAndTraceHeaders(raw.rawHeaders) });
    if (!decision.allowed) {
      // Reading a body nobody will use would keep the connection busy: close it instead.
      if (!raw.complete) reply.header('connection', 'close');
      return send(reply, decision.denial!);
    }

    const limited = body === 'chunked' ? raw.pipe(new BodyLimit(bodyBytes)) : undefined;
    const clientGone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) clientGone.abort();
    });
    let response: Dispatcher.ResponseData;
    const started = performance.now();
    try {
      response = await pool.request({
        method: raw.method!,
        path: upstreamTarget(decision),
        headers: requestHeaders.build(raw, decision.identityHeaders, decision.traceparent),
        body: limited ?? (body === 'sized' ? raw : null),
        signal: clientGone.signal,
      });
    } catch (error) {
      upstreamObserver?.upstreamAnswered('error', (performance.now() - started) / 1000);
      if (!raw.complete) reply.header('connection', 'close');
      if (error instanceof BodyTooLarge || limited?.errored instanceof BodyTooLarge) return send(reply, BODY_TOO_LARGE);
      if (!clientGone.signal.aborted) {
        logger.warn({ event: 'upstream_error', code: (error as { code?: unknown }).code, method: raw.method, path: decision.path }, 'upstream request failed');
      }
      return send(reply, upstreamFailure(error));
    }
    upstreamObserver?.upstreamAnswered(STATUS_CLASSES[Math.floor(response.statusCode / 100)] ?? 'error', (performance.now() - started) / 1000);
    // HTTP/1.1 allows any three digits; Node can only send 100-599.
    if (response.statusCode > 599) {
      response.body.dump().catch(ignore);
      return send(reply, UPSTREAM_FAILED);
    }
    stripHopByHop(response.headers);
    return reply.code(response.statusCode).headers(response.headers).send(response.body);
  }

  // The router's own errors (a URL it cannot decode: FST_ERR_BAD_URL; there are no route constraints) go through
  // the gate too, so they get the gate's 400 in its words rather than the router's, which would echo the URL.
  function routeAnyway(_error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    forward(request, reply).catch((failure: unknown) => reply.send(failure));
  }
  const app = Fastify({ ...listenerOptions(config.limits.headerBytes), frameworkErrors: routeAnyway });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', leaveBodyUnread);
  app.route({ method: METHODS, url: '*', handler: forward });
  app.setNotFoundHandler(forward);
  app.server.on('upgrade', websockets.onUpgrade);
  app.addHook('preClose', async () => websockets.drain(config.shutdownTimeout));
  app.addHook('onClose', () => pool.close());
  return app;
}

function send(reply: FastifyReply, answer: Answer): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

function ignore(): void {
  // A failure to discard an unusable upstream body changes nothing for the client.
}

/** Bodies are never parsed: the handler streams `request.raw` to the upstream as it arrives. */
function leaveBodyUnread(_request: FastifyRequest, _payload: NodeJS.ReadableStream, done: (error: Error | null, body?: unknown) => void): void {
  done(null, undefined);
}
