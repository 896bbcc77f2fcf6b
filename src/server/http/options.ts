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

/**
 * Idle keep-alive connections of the data-plane listeners stay open 72 s, as on Fastify's listeners: longer than the
 * idle timeouts of what calls them (NGINX 60 s, cloud load balancers 60 s), so a caller never reuses a connection
 * just as tokenwatch closes it.
 */
export const LISTENER_KEEP_ALIVE_TIMEOUT_MS = 72_000;
