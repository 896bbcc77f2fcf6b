import { createServer, type IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { useJwksServer } from '../support/jwks-server.js';
import { close, listen, useStarted } from '../support/lifecycle.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestSidecar, useTestSidecar } from '../support/sidecar.js';

/** A WebSocket echo app on loopback; it refuses handshakes under /api/orders/refused with 403 itself. */
async function startEchoUpstream() {
  const handshakes: IncomingMessage[] = [];
  const server = createServer((_req, res) => res.writeHead(404).end());
  const sockets = new WebSocketServer({ noServer: true });
  sockets.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  server.on('upgrade', (req, socket, head) => {
    handshakes.push(req);
    if (req.url!.startsWith('/api/orders/refused')) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nforbidden');
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit('connection', ws, req));
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    handshakes,
    stop: async () => {
      for (const client of sockets.clients) client.terminate();
      await close(server);
    },
  };
}

const jwks = useJwksServer();
const upstream = useStarted(startEchoUpstream);
const proxyConfig = () => ({
  mode: 'proxy',
  upstream: upstream().url,
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
  routes: [
    { path: '/public/**', public: true },
    { path: '/api/orders/**', scopes: ['read:orders'] },
  ],
  shutdownTimeout: '500ms',
});
const sidecar = useTestSidecar(proxyConfig);
const token = () => jwks().sign({ aud: 'orders-api', sub: 'user-1', scope: 'read:orders' });

function connect(path: string, headers: Record<string, string> = {}, base = sidecar().dataPlaneUrl): WebSocket {
  return new WebSocket(`${base.replace('http', 'ws')}${path}`, { headers });
}

function opened(socket: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
}

/** The status of a refused handshake. */
function refusedWith(socket: WebSocket): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    socket.once('open', () => reject(new Error('the handshake was accepted')));
    socket.once('unexpected-response', async (_request, response) => {
      let body = '';
      for await (const chunk of response) body += (chunk as Buffer).toString();
      resolve({ status: response.statusCode!, body });
    });
  });
}

function echo(socket: WebSocket, message: string | Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    socket.once('message', (data) => resolve(data as Buffer));
    socket.send(message);
  });
}

describe('WebSocket through the proxy', () => {
  test('with a valid token the handshake is proxied and messages echo both ways', async () => {
    const socket = connect('/api/orders/live?since=5', { authorization: `Bearer ${await token()}`, 'x-auth-subject': 'admin' });
    await opened(socket);
    expect((await echo(socket, 'hello')).toString()).toBe('hello');
    const handshake = upstream().handshakes.at(-1)!;
    expect(handshake.url).toBe('/api/orders/live?since=5');
    expect(handshake.headers['x-auth-subject']).toBe('user-1');
    socket.close();
  });

  test('an alias of an identity header (X_Auth_Subject) never reaches the upstream with the handshake', async () => {
    const socket = connect('/api/orders/live', { authorization: `Bearer ${await token()}`, X_Auth_Subject: 'admin' });
    await opened(socket);
    const handshake = upstream().handshakes.at(-1)!;
    expect(handshake.rawHeaders.filter((name) => /^x[^a-z0-9]auth[^a-z0-9]subject$/i.test(name))).toEqual(['x-auth-subject']);
    expect(handshake.headers['x-auth-subject']).toBe('user-1');
    socket.close();
  });

  test('a large binary message crosses the tunnel intact', async () => {
    const socket = connect('/api/orders/live', { authorization: `Bearer ${await token()}` });
    await opened(socket);
    const message = Buffer.alloc(2 * 1024 * 1024, 7);
    expect((await echo(socket, message)).equals(message)).toBe(true);
    socket.close();
  });

  test('without a token the handshake is refused with 401 and never reaches the upstream', async () => {
    const before = upstream().handshakes.length;
    const refused = await refusedWith(connect('/api/orders/live'));
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ reason: 'missing_token' });
    expect(upstream().handshakes.length).toBe(before);
  });

  test('a path trick on the handshake gets the policy of the path served', async () => {
    const before = upstream().handshakes.length;
    expect((await refusedWith(connect('/public/%2e%2e/api/orders/live'))).status).toBe(401);
    expect((await refusedWith(connect('/public/%2e%2e%2Fapi/orders/live'))).status).toBe(400);
    expect(upstream().handshakes.length).toBe(before);
  });

  test('a public route accepts a handshake without a token', async () => {
    const socket = connect('/public/ticker');
    await opened(socket);
    expect((await echo(socket, 'tick')).toString()).toBe('tick');
    socket.close();
  });

  test('a handshake the upstream refuses is relayed as the upstream answered', async () => {
    const refused = await refusedWith(connect('/api/orders/refused', { authorization: `Bearer ${await token()}` }));
    expect(refused).toEqual({ status: 403, body: 'forbidden' });
  });

  test('an upgrade to anything but WebSocket (h2c) is refused with 400', async () => {
    const before = upstream().handshakes.length;
    const response = await rawRequest(sidecar().dataPlaneUrl, 'GET', '/public/x', [
      ['Connection', 'Upgrade, HTTP2-Settings'],
      ['Upgrade', 'h2c'],
      ['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA'],
    ]);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ reason: 'unsupported_upgrade' });
    expect(upstream().handshakes.length).toBe(before);
  });

  test('an unreachable upstream gets 502', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await close(closed);
    const down = await startTestSidecar({ ...proxyConfig(), upstream: `http://127.0.0.1:${port}` });
    try {
      const refused = await refusedWith(connect('/public/ticker', {}, down.dataPlaneUrl));
      expect(refused.status).toBe(502);
      expect(JSON.parse(refused.body)).toMatchObject({ error: 'bad_gateway', reason: 'upstream_unreachable' });
    } finally {
      await down.shutdown();
    }
  });

  test('shutdown cuts open tunnels once shutdownTimeout has passed', async () => {
    const stopping = await startTestSidecar(proxyConfig());
    const socket = connect('/public/ticker', {}, stopping.dataPlaneUrl);
    await opened(socket);
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    const started = Date.now();
    await stopping.shutdown();
    await closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
