/**
 * Idle keep-alive connections of every tokenwatch listener stay open 72 s: longer than the idle timeouts of what
 * calls them (NGINX 60 s, cloud load balancers 60 s), so a caller never reuses a connection just as tokenwatch
 * closes it.
 */
export const LISTENER_KEEP_ALIVE_TIMEOUT_MS = 72_000;
