import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { AccessGate } from './access-gate.js';
import type { Answers } from './answers.js';

export interface ProxyServerDeps {
  config: Config;
  gate: AccessGate;
  answers: Answers;
  /** Header names tokenwatch sets from claims: stripped from every incoming request, whatever their case. */
  identityHeaderNames: readonly string[];
  logger: Logger;
}

/** Reverse-proxy mode (issue 4): not built yet. */
export function buildProxyServer(_deps: ProxyServerDeps): FastifyInstance {
  throw new Error('mode: proxy is not implemented yet');
}
