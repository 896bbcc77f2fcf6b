import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { describe, expect, test } from 'vitest';
import { eventually } from '../support/eventually.js';
import { useJwksServer } from '../support/jwks-server.js';
import { close, listen, useStarted } from '../support/lifecycle.js';
import { bearer, sampleValue, startTestSidecar, useTestSidecar } from '../support/sidecar.js';

const jwks = useJwksServer();
const routes = [{ path: '/api/**', scopes: ['read:orders'] }];
const token = () => jwks().sign({ aud: 'orders-api', sub: 'user-1', scope: 'read:orders' });

/** An open TCP connection to `url`, and whether (and how soon) the other side closed it. */
async function openConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let closedByPeer = false;
  socket.on('end', () => (closedByPeer = true));
  socket.on('error', () => (closedByPeer = true));
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, closedByPeer: () => closedByPeer || socket.destroyed };
}

describe('limits.connections (forward-auth)', () => {
  const sidecar = useTestSidecar(() => ({
    issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
    routes,
    limits: { connections: 2 },
  }));

  test('a connection past the bound is closed on arrival and counted; a freed slot takes the next one', async () => {
    const first = await openConnection(sidecar().dataPlaneUrl);
    const second = await openConnection(sidecar().dataPlaneUrl);
    await eventually(async () => sampleValue(await sidecar().metricsText(), 'listener_connections') === 2);
    const third = await openConnection(sidecar().dataPlaneUrl);
    await eventually(() => third.closedByPeer());
    expect(sampleValue(await sidecar().metricsText(), 'listener_connections_dropped_total')).toBe(1);
    expect(first.closedByPeer() || second.closedByPeer()).toBe(false);

    first.socket.destroy();
    await eventually(async () => sampleValue(await sidecar().metricsText(), 'listener_connections') === 1);
    second.socket.destroy();
    const response = await sidecar().request('/api/orders/1', bearer(await token()));
    expect(response.status).toBe(200);
  });
});

/** An app that answers after `delayMs` and records how many connections it had open at once. */
async function startSlowUpstream(delayMs: number) {
  let open = 0;
  let mostOpen = 0;
  const server: Server = createServer((_request, response) => {
    setTimeout(() => response.end('ok'), delayMs);
  });
  server.on('connection', (socket) => {
    open += 1;
    mostOpen = Math.max(mostOpen, open);
    socket.on('close', () => (open -= 1));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, mostOpen: () => mostOpen, stop: () => close(server) };
}

describe('limits.upstreamConnections (proxy)', () => {
  const upstream = useStarted(() => startSlowUpstream(100));

  test('the app never sees more connections than the bound; requests past it wait their turn and succeed', async () => {
    const sidecar = await startTestSidecar({
      mode: 'proxy',
      upstream: upstream().url,
      issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
      routes,
      limits: { upstreamConnections: 2 },
    });
    try {
      const started = performance.now();
      const answers = await Promise.all(Array.from({ length: 6 }, async () => sidecar.request('/api/orders/1', bearer(await token()))));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(upstream().mostOpen()).toBe(2);
      // Six answers of 100 ms each through two connections take three rounds.
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      await sidecar.shutdown();
    }
  });
});
