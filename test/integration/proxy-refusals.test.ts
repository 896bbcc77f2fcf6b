import { createServer } from 'node:http';
import { describe, expect, test } from 'vitest';
import { eventually } from '../support/eventually.js';
import { useJwksServer } from '../support/jwks-server.js';
import { close, listen, useStarted } from '../support/lifecycle.js';
import { keptAliveConnection } from '../support/raw-http.js';
import { useTestSidecar } from '../support/sidecar.js';

/**
 * Refusals in proxy mode and the client's connection: a refused request that has fully arrived leaves the
 * connection open for the next one; one whose body is still unread closes it unless that body is small.
 */

const upstream = useStarted(async () => {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, stop: () => close(server) };
});
const jwks = useJwksServer();
const sidecar = useTestSidecar(() => ({
  mode: 'proxy',
  upstream: upstream().url,
  logLevel: 'warn',
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
  routes: [{ path: '/api/orders/**', scopes: ['read:orders'] }],
}));

const tampered = (token: string) => `${token.slice(0, -6)}AAAAAA`;
const get = (path: string, headers: string[] = []) => [`GET ${path} HTTP/1.1`, 'Host: orders', ...headers, '', ''].join('\r\n');
const post = (path: string, headers: string[], body = '') => [`POST ${path} HTTP/1.1`, 'Host: orders', ...headers, '', body].join('\r\n');

describe('a refused request that has fully arrived keeps its connection', () => {
  test('100 refused requests (no token, tampered tokens) over one keep-alive connection use that one connection', async () => {
    const connection = await keptAliveConnection(sidecar().dataPlaneUrl);
    const token = tampered(await jwks().sign({ aud: 'orders-api', scope: 'read:orders' }));
    for (let index = 0; index < 100; index += 1) {
      const authorization = index % 2 === 0 ? [] : [`Authorization: Bearer ${token}`];
      const answer = await connection.send(get(`/api/orders/${index}`, authorization));
      expect(answer.status).toBe(401);
      expect(answer.headers.connection).not.toBe('close');
    }
    expect(connection.closed).toBe(false);
    const allowed = await connection.send(get('/api/orders/1', [`Authorization: Bearer ${await jwks().sign({ aud: 'orders-api', scope: 'read:orders' })}`]));
    expect(allowed.status).toBe(200);
    connection.close();
  });

  test('a refused POST whose small body came with it keeps the connection', async () => {
    const connection = await keptAliveConnection(sidecar().dataPlaneUrl);
    const answer = await connection.send(post('/api/orders', ['Content-Length: 11'], '{"qty": 42}'));
    expect(answer.status).toBe(401);
    expect(answer.headers.connection).not.toBe('close');
    expect((await connection.send(get('/api/orders/1'))).status).toBe(401);
    connection.close();
  });

  test('a small declared body still on its way is read and discarded, and the connection carries the next request', async () => {
    const connection = await keptAliveConnection(sidecar().dataPlaneUrl);
    const answer = await connection.send(post('/api/orders', ['Content-Length: 11']));
    expect(answer.status).toBe(401);
    expect(answer.headers.connection).not.toBe('close');
    connection.write('{"qty": 42}');
    // Had the body not been discarded, its bytes would be parsed as the next request line: a 400, then a close.
    expect((await connection.send(get('/api/orders/2'))).status).toBe(401);
    connection.close();
  });
});

describe('a refused request whose body is unread closes its connection', () => {
  test('a chunked body (length unknown) that has not arrived: connection: close', async () => {
    const connection = await keptAliveConnection(sidecar().dataPlaneUrl);
    const answer = await connection.send(post('/api/orders', ['Transfer-Encoding: chunked']));
    expect(answer.status).toBe(401);
    expect(answer.headers.connection).toBe('close');
    await connection.whenClosed;
  });

  test('a large declared body that has not arrived: connection: close', async () => {
    const connection = await keptAliveConnection(sidecar().dataPlaneUrl);
    const answer = await connection.send(post('/api/orders', [`Content-Length: ${1024 * 1024}`]));
    expect(answer.status).toBe(401);
    expect(answer.headers.connection).toBe('close');
    await connection.whenClosed;
  });

  test('a small declared body that never arrives closes the connection within the drain deadline', async () => {
    const connection = await keptAliveConnection(sidecar().dataPlaneUrl);
    const answer = await connection.send(post('/api/orders', ['Content-Length: 11']));
    expect(answer.status).toBe(401);
    await eventually(() => connection.closed, 15_000);
  });
});
