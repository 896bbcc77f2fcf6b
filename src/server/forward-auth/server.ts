import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../logging/logger.js';
import type { AccessGate, GateDecision } from '../gate/access-gate.js';
import { AnswerBatch } from './answer-batch.js';
import type { Answers, Denial } from '../gate/answers.js';
import { originalRequest } from './original-request.js';
import { LISTENER_KEEP_ALIVE_TIMEOUT_MS } from '../http/options.js';
import type { DataPlaneHandlers } from '../http/swappable-listener.js';
import { IdentityHeaderAliases, identitySpoof, type IdentitySpoofObserver } from '../gate/identity-aliases.js';
import type { RequestObserver } from '../http/request-observer.js';

export interface ForwardAuthServerDeps {
  config: Pick<Config, 'authz' | 'limits'>;
  gate: AccessGate;
  answers: Answers;
  /** Every header name tokenwatch may set from claims. */
  identityHeaderNames: readonly string[];
  /** Told of every check refused for an alias of an identity header: `identity_header_spoof_total`, audit log. */
  spoofObserver: IdentitySpoofObserver;
  logger: Logger;
  /** Told of every check and of each one tokenwatch fails itself: the availability SLI. */
  requestObserver?: RequestObserver;
}

/**
 * Envoy ext_authz removes the headers named here from the original request. Listing the identity headers a 200 does
 * not set keeps a client-sent `x-auth-client-id` from reaching the app when the token has no such claim.
 */
const ENVOY_HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove';
const INTERNAL_ERROR = ['content-type', 'application/json', 'content-length', '2', 'cache-control', 'no-store'];

/**
 * Forward-auth mode: every path of the data-plane listener is the check. 200 with the identity headers allows the
 * original request; 400/401/403/503 with RFC 6750 headers refuse it. Request bodies are discarded unread.
 *
 * A plain node:http server, not Fastify: the check is one handler for every method and path, with no body to parse
 * and no reply to serialise, and Fastify's routing and reply pipeline cost a fifth of a cache-hit check
 * (docs/decisions/0003-forward-auth-hot-path.md). Answers are written from header lists built once per distinct answer,
 * together at the end of the event-loop turn that decided them (answer-batch.ts, decision 0006).
 */
export function buildForwardAuthHandlers({ config, gate, answers, identityHeaderNames, spoofObserver, logger, requestObserver }: ForwardAuthServerDeps): DataPlaneHandlers {
  const { requestSource, pathPrefix } = config.authz;
  const allIdentityHeaders = identityHeaderNames.join(',');
  const aliases = new IdentityHeaderAliases(identityHeaderNames);

  function allowHeaders(identity: ReadonlyArray<readonly [string, string]>): string[] {
    const headers: string[] = [];
    for (const [name, value] of identity) headers.push(name, value);
    const unset =
      identity.length === 0
        ? allIdentityHeaders
        : identity.length === identityHeaderNames.length
          ? ''
          : identityHeaderNames.filter((name) => !identity.some(([header]) => header === name)).join(',');
    if (unset) headers.push(ENVOY_HEADERS_TO_REMOVE, unset);
    headers.push('cache-control', 'no-store', 'content-length', '0');
    return headers;
  }

  function answer(request: IncomingMessage, response: ServerResponse): void {
    const original = originalRequest(request, requestSource, pathPrefix);
    if ('error' in original) return batch.add(response, original.status === 404 ? answers.notACheck : answers.badPath(original.error));
    // NGINX and Traefik pass the client's headers on after a 200 and cannot be told to drop one, and with `auto` the
    // client picks which proxy the check looks like: any check carrying an alias is refused (docs/decisions/0008).
    const spoofed = aliases.find(request.rawHeaders);
    if (spoofed !== undefined) {
      spoofObserver.identityHeaderSpoofed(identitySpoof('authz', original.method, original.target, spoofed));
      return batch.add(response, answers.identityHeaderSpoof);
    }
    const decision = gate.decide(original);
    if (decision instanceof Promise) {
      decision.then(
        (settled) => batch.add(response, settled),
        (error: unknown) => onFailure(response, error),
      );
    } else {
      batch.add(response, decision);
    }
  }

  function writeAnswer(response: ServerResponse, answer: GateDecision | Denial): void {
    if ('status' in answer) return writeDenial(response, answer);
    if (!answer.allowed) return writeDenial(response, answer.denial!);
    response.writeHead(200, allowHeaders(answer.identityHeaders));
    response.end();
  }

  function onFailure(response: ServerResponse, error: unknown): void {
    logger.error({ event: 'check_failed', error: (error as Error).message }, 'forward-auth check failed');
    requestObserver?.requestFailed('internal_error');
    if (!response.headersSent) response.writeHead(500, INTERNAL_ERROR);
    response.end('{}');
  }

  const batch = new AnswerBatch<GateDecision | Denial>(writeAnswer, onFailure);

  return {
    request(request, response) {
      requestObserver?.requestReceived();
      // A check never needs the body; reading it off keeps the connection reusable.
      if (!request.complete) request.resume();
      try {
        answer(request, response);
      } catch (error) {
        onFailure(response, error);
      }
    },
  };
}

export function forwardAuthServerOptions(config: Pick<Config, 'limits'>): ServerOptions {
  return { maxHeaderSize: config.limits.headerBytes, keepAliveTimeout: LISTENER_KEEP_ALIVE_TIMEOUT_MS };
}

function writeDenial(response: ServerResponse, denial: Denial): void {
  response.writeHead(denial.status, denial.rawHeaders as string[]);
  response.end(denial.body);
}
