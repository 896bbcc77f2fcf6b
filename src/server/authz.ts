import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import type { AccessGate } from './access-gate.js';
import type { Answers, Denial } from './answers.js';
import { originalRequest } from './forward-auth.js';
import { listenerOptions } from './http-options.js';

export interface AuthzServerDeps {
  config: Pick<Config, 'authz'>;
  gate: AccessGate;
  answers: Answers;
  /** Every header name tokenwatch may set from claims. */
  identityHeaderNames: readonly string[];
}

/**
 * Envoy ext_authz removes the headers named here from the original request. Listing the identity headers a 200 does
 * not set keeps a client-sent `x-auth-client-id` from reaching the app when the token has no such claim.
 */
const ENVOY_HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove';

/**
 * Forward-auth mode: every path of the data-plane listener is the check. 200 with the identity headers allows the
 * original request; 400/401/403/503 with RFC 6750 headers refuse it. Request bodies are discarded unread.
 */
export function buildAuthzServer({ config, gate, answers, identityHeaderNames }: AuthzServerDeps): FastifyInstance {
  const app = Fastify(listenerOptions());
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', discardBody);
  const { requestSource, pathPrefix } = config.authz;

  async function check(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const original = originalRequest(request.raw, requestSource, pathPrefix);
    if ('error' in original) return sendDenial(reply, original.status === 404 ? answers.notACheck : answers.badPath(original.error));
    const decision = await gate.decide(original);
    if (!decision.allowed) return sendDenial(reply, decision.denial!);
    for (const [name, value] of decision.identityHeaders) reply.header(name, value);
    const unset = unsetIdentityHeaders(decision.identityHeaders);
    if (unset) reply.header(ENVOY_HEADERS_TO_REMOVE, unset);
    reply.header('cache-control', 'no-store');
    return reply.code(200).send();
  }

  const allIdentityHeaders = identityHeaderNames.join(',');
  function unsetIdentityHeaders(set: ReadonlyArray<readonly [string, string]>): string {
    if (set.length === 0) return allIdentityHeaders;
    if (set.length === identityHeaderNames.length) return '';
    return identityHeaderNames.filter((name) => !set.some(([header]) => header === name)).join(',');
  }

  app.route({ method: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'], url: '*', handler: check });
  app.setNotFoundHandler(check);
  return app;
}

function sendDenial(reply: FastifyReply, denial: Denial): FastifyReply {
  return reply.code(denial.status).headers(denial.headers).send(denial.body);
}

function discardBody(_request: FastifyRequest, payload: NodeJS.ReadableStream, done: (error: Error | null, body?: unknown) => void): void {
  payload.resume();
  done(null, undefined);
}
