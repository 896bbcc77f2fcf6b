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
}

/**
 * Forward-auth mode: every path of the data-plane listener is the check. 200 with the identity headers allows the
 * original request; 400/401/403/503 with RFC 6750 headers refuse it. Request bodies are discarded unread.
 */
export function buildAuthzServer({ config, gate, answers }: AuthzServerDeps): FastifyInstance {
  const app = Fastify(listenerOptions());
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', discardBody);
  const { requestSource, pathPrefix } = config.authz;

  async function check(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const original = originalRequest(request.raw, requestSource, pathPrefix);
    if ('error' in original) return sendDenial(reply, answers.badPath(original.error), original.status);
    const decision = await gate.decide(original);
    if (!decision.allowed) return sendDenial(reply, decision.denial!, decision.denial!.status);
    for (const [name, value] of decision.identityHeaders) reply.header(name, value);
    reply.header('cache-control', 'no-store');
    return reply.code(200).send();
  }

  app.route({ method: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'], url: '*', handler: check });
  app.setNotFoundHandler(check);
  return app;
}

function sendDenial(reply: FastifyReply, denial: Denial, status: number): FastifyReply {
  return reply.code(status).headers(denial.headers).send(denial.body);
}

function discardBody(_request: FastifyRequest, payload: NodeJS.ReadableStream, done: (error: Error | null, body?: unknown) => void): void {
  payload.resume();
  done(null, undefined);
}
