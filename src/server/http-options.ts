import type { FastifyServerOptions } from 'fastify';

/**
 * Options every tokenwatch listener shares. Fastify's request logging is off: it would log URLs, and a URL may
 * carry `access_token`. Bodies are never parsed by tokenwatch itself.
 */
export function listenerOptions(maxHeaderBytes = 16_384): FastifyServerOptions {
  return {
    logger: false,
    disableRequestLogging: true,
    maxParamLength: 500,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    http: { maxHeaderSize: maxHeaderBytes },
    routerOptions: { ignoreDuplicateSlashes: false },
  } as FastifyServerOptions;
}
