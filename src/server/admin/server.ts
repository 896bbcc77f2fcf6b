import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from '../../platform/node-http.js';
import type { IssuerKeyStore } from '../../auth/keys.js';
import { Registry } from 'prom-client';
import { LISTENER_KEEP_ALIVE_TIMEOUT_MS } from '../http/options.js';
import { preferredMetricsFormat } from './metrics-format.js';

/** The metrics in the two formats /metrics negotiates; observability/metrics/exposition.ts makes them. */
export interface MetricsExposition {
  /** Prometheus text format 0.0.4: what curl and older scrapers get. Exemplars exist only in OpenMetrics. */
  classic(): Promise<string>;
  /** OpenMetrics 1.0.0, with the exemplars the metrics hold. */
  openMetrics(): Promise<string>;
}

export interface AdminServerDeps {
  /** The key stores of the configuration in force (a reload may change them). */
  keyStores: () => readonly IssuerKeyStore[];
  metrics: MetricsExposition;
  /** False once shutdown began: /readyz then answers 503 so the endpoint leaves the Service first. */
  accepting: () => boolean;
}

/** Admin requests are a probe or a scrape: a bounded head, answered within a bounded time. */
const ADMIN_OPTIONS = { maxHeaderSize: 16_384, keepAliveTimeout: LISTENER_KEEP_ALIVE_TIMEOUT_MS, requestTimeout: 30_000 };

/**
 * The admin listener: liveness, readiness and metrics, never on the data plane. Three fixed GET routes on node:http:
 * a web framework here cost every sidecar 5.5 MB of resident memory for routing three paths (docs/deploy.md, Sizing).
 * Bodies are never read; URLs are never logged (a URL may carry `access_token`).
 */
export function buildAdminServer({ keyStores, metrics, accepting }: AdminServerDeps): Server {
  function readiness(): { status: number; body: unknown } {
    const issuers = keyStores().map((store) => {
      const status = store.status();
      return {
        issuer: status.issuer,
        ready: status.state === 'fresh' || status.state === 'stale',
        state: status.state,
        keys: status.keys,
        lastSuccess: status.lastSuccessAt === undefined ? null : new Date(status.lastSuccessAt).toISOString(),
        usableUntil: status.usableUntil === undefined ? null : new Date(status.usableUntil).toISOString(),
        ...(status.lastError ? { reason: status.lastError } : {}),
      };
    });
    const shuttingDown = !accepting();
    const ready = !shuttingDown && issuers.every((issuer) => issuer.ready);
    return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not ready', ...(shuttingDown ? { reason: 'shutting down' } : {}), issuers } };
  }

  return createServer(ADMIN_OPTIONS, (request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    if (request.method !== 'GET' && request.method !== 'HEAD') return sendJson(response, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    const path = (request.url ?? '/').split('?', 1)[0];
    if (path === '/healthz') return sendJson(response, 200, { status: 'ok' });
    if (path === '/readyz') {
      const { status, body } = readiness();
      return sendJson(response, status, body);
    }
    if (path === '/metrics') {
      const openMetrics = preferredMetricsFormat(request.headers.accept) === 'openmetrics';
      (openMetrics ? metrics.openMetrics() : metrics.classic()).then(
        (text) => send(response, 200, openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE, text, { vary: 'accept' }),
        (error: unknown) => sendJson(response, 500, { error: `metrics collection failed: ${(error as Error).message}` }),
      );
      return;
    }
    sendJson(response, 404, { error: 'not found: the admin listener serves /healthz, /readyz and /metrics' });
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body), { 'cache-control': 'no-store', ...headers });
}

function send(response: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
