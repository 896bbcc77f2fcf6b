import type { FastifyServerOptions } from 'fastify';

/**
 * Options every tokenwatch listener shares. Fastify's logger stays off: it would log URLs, and a URL may carry
 * `access_token`; tokenwatch logs its own events. Bodies are never parsed by tokenwatch itself.
 */
export function listenerOptions(maxHeaderBytes = 16_384): FastifyServerOptions {
  return {
    logger: false,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    http: { maxHeaderSize: maxHeaderBytes },
    routerOptions: { maxParamLength: 500 },
  } as FastifyServerOptions;
}
