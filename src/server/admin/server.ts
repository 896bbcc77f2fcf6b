import Fastify, { type FastifyInstance } from 'fastify';
import type { IssuerKeyStore } from '../../auth/keys.js';
import type { Registry } from 'prom-client';
import { listenerOptions } from '../http/options.js';

export interface AdminServerDeps {
  /** The key stores of the configuration in force (a reload may change them). */
  keyStores: () => readonly IssuerKeyStore[];
  registry: Registry;
  /** False once shutdown began: /readyz then answers 503 so the endpoint leaves the Service first. */
  accepting: () => boolean;
}

/** The admin listener: liveness, readiness and metrics, never on the data plane. */
export function buildAdminServer({ keyStores, registry, accepting }: AdminServerDeps): FastifyInstance {
  const app = Fastify(listenerOptions());

  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
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
    return reply
      .code(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: ready ? 'ready' : 'not ready', ...(shuttingDown ? { reason: 'shutting down' } : {}), issuers });
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await registry.metrics();
    return reply.header('content-type', registry.contentType).send(body);
  });

  return app;
}
