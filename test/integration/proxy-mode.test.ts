import { createServer, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { close, listen, useStarted } from '../support/lifecycle.js';
import { rawRequest, type RawResponse } from '../support/raw-http.js';
import { bearer, sampleValue, startTestSidecar, useTestSidecar } from '../support/sidecar.js';

/** What the app behind tokenwatch received, header lines exactly as they arrived. */
interface Received {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}

/**
 * The app on loopback. It echoes what it received, except on a few paths:
 * /api/orders/hang never answers, /public/empty answers 204, /public/odd-status 999, /api/orders/chunked answers in timed chunks, /api/orders/slow after 300 ms.
 */
async function startUpstream() {
  const received: Received[] = [];
  let hangsClosed = 0;
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += (chunk as Buffer).toString('latin1');
    const seen = { method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body };
    received.push(seen);
    if (req.url === '/api/orders/hang') return void res.once('close', () => (hangsClosed += 1));
    if (req.url === '/public/empty') return void res.writeHead(204, { 'x-app': 'yes' }).end();
    if (req.url === '/public/odd-status') return void res.writeHead(999).end('?');
    if (req.url === '/public/early-hints') {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('after hints');
    }
    if (req.url === '/api/orders/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (const part of ['one,', 'two,', 'three']) {
        res.write(part);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      res.end();
      return;
    }
    if (req.url === '/api/orders/slow') await new Promise((resolve) => setTimeout(resolve, 300));
    res.writeHead(req.url === '/api/orders/created' ? 201 : 200, [
      ['content-type', 'application/json'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['keep-alive', 'timeout=5'],
      ['x-app-trace', 'abc'],
      ['connection', 'x-app-trace'],
    ].flat());
    res.end(JSON.stringify(seen));
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    last: () => received.at(-1)!,
    /** Hanging requests whose connection has since closed. */
    hangsClosed: () => hangsClosed,
    stop: () => close(server),
  };
}

/** Every value of a header in a raw header list, whatever the case of its name. */
function valuesOf(rawHeaders: string[], name: string): string[] {
  const values: string[] = [];
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index]!.toLowerCase() === name) values.push(rawHeaders[index + 1]!);
  }
  return values;
}

const jwks = useJwksServer();
const upstream = useStarted(startUpstream);
const proxyConfig = () => ({
  mode: 'proxy',
  upstream: upstream().url,
  upstreamTimeout: '1s',
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
  claimHeaders: { sub: 'x-auth-subject', client_id: 'x-auth-client-id', scope: 'x-auth-scopes', email: 'remote-user' },
  limits: { headerBytes: 4096, bodyBytes: 1024 },
  routes: [
    { path: '/public/**', public: true },
    { path: '/api/orders/**', scopes: ['read:orders'] },
    { path: '/api/admin/**', scopes: ['admin'] },
    { path: '/api/reports/**', scopes: ['read:reports'], enforcement: 'report-only' },
  ],
});
const sidecar = useTestSidecar(proxyConfig);

const claims = (scope = 'read:orders') => ({ aud: 'orders-api', sub: 'user-1', client_id: 'orders-service', email: 'u1@example.com', scope });
const token = (scope?: string) => jwks().sign(claims(scope));
const raw = (method: string, target: string, headers: Array<[string, string]> = []): Promise<RawResponse> =>
  rawRequest(sidecar().dataPlaneUrl, method, target, headers);

/** Sends one request and reports whether the upstream saw it. */
async function hits<T>(send: () => Promise<T>): Promise<{ result: T; reached: boolean }> {
  const before = upstream().received.length;
  const result = await send();
  return { result, reached: upstream().received.length > before };
}

describe('forwarding', () => {
  test('a valid token reaches the upstream with method, path, query, body and identity headers', async () => {
    const response = await sidecar().request('/api/orders/7?expand=items&expand=customer', {
      method: 'POST',
      headers: { authorization: `Bearer ${await token()}`, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(response.status).toBe(200);
    const seen = (await response.json()) as Received;
    expect(seen).toMatchObject({ method: 'POST', url: '/api/orders/7?expand=items&expand=customer', body: 'hello' });
    expect(valuesOf(seen.rawHeaders, 'x-auth-subject')).toEqual(['user-1']);
    expect(valuesOf(seen.rawHeaders, 'x-auth-client-id')).toEqual(['orders-service']);
    expect(valuesOf(seen.rawHeaders, 'x-auth-scopes')).toEqual(['read:orders']);
    expect(valuesOf(seen.rawHeaders, 'remote-user')).toEqual(['u1@example.com']);
  });

  test('the upstream status, body and end-to-end headers come back; hop-by-hop ones do not', async () => {
    const response = await sidecar().request('/api/orders/created', bearer(await token()));
    expect(response.status).toBe(201);
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('keep-alive')).not.toBe('timeout=5');
    expect(response.headers.get('x-app-trace')).toBeNull();
  });

  test('without a token the answer is 401 and the upstream never sees the request', async () => {
    const { result, reached } = await hits(() => sidecar().request('/api/orders/1'));
    expect(result.status).toBe(401);
    expect(result.headers.get('www-authenticate')).toBe('Bearer realm="tokenwatch"');
    expect(reached).toBe(false);
  });

  test('a token without the route scope gets 403 and the upstream never sees the request', async () => {
    const { result, reached } = await hits(async () => sidecar().request('/api/admin/users', bearer(await token())));
    expect(result.status).toBe(403);
    expect(((await result.json()) as { reason: string }).reason).toBe('insufficient_scope');
    expect(reached).toBe(false);
  });

  test('a public route is forwarded without a token', async () => {
    const response = await sidecar().request('/public/logo.svg');
    expect(response.status).toBe(200);
    expect(((await response.json()) as Received).url).toBe('/public/logo.svg');
  });

  test('query strings reach the upstream byte for byte', async () => {
    const query = '?a=1&a=2&b=%20x+y&c&d=%2F..%2F&e=caf%C3%A9&';
    await raw('GET', `/public/search${query}`);
    expect(upstream().last().url).toBe(`/public/search${query}`);
  });

  test('a token that fails a report-only route is let through without identity headers', async () => {
    const response = await sidecar().request('/api/reports/q1', bearer(await token()));
    expect(response.status).toBe(200);
    const seen = (await response.json()) as Received;
    expect(valuesOf(seen.rawHeaders, 'x-auth-subject')).toEqual([]);
  });

  test('end-to-end headers are kept in order and duplicates; hop-by-hop headers and those Connection names are dropped', async () => {
    await raw('GET', '/public/h', [
      ['X-Custom', 'one'],
      ['x-custom', 'two'],
      ['Accept', 'text/plain'],
      ['Keep-Alive', 'timeout=5'],
      ['TE', 'trailers'],
      ['Proxy-Authorization', 'Basic Zm9vOmJhcg=='],
      ['X-Hop', 'secret'],
      ['Connection', 'X-Hop'],
    ]);
    const seen = upstream().last().rawHeaders;
    expect(valuesOf(seen, 'x-custom')).toEqual(['one', 'two']);
    expect(valuesOf(seen, 'accept')).toEqual(['text/plain']);
    for (const name of ['keep-alive', 'te', 'proxy-authorization', 'x-hop']) expect(valuesOf(seen, name)).toEqual([]);
    expect(valuesOf(seen, 'connection')).not.toContain('X-Hop');
  });

  test('X-Forwarded-For, -Proto and -Host get this hop appended', async () => {
    await raw('GET', '/public/xf', [
      ['X-Forwarded-For', '203.0.113.9'],
      ['X-Forwarded-Proto', 'https'],
    ]);
    const seen = upstream().last().rawHeaders;
    const host = new URL(sidecar().dataPlaneUrl).host;
    expect(valuesOf(seen, 'x-forwarded-for')).toEqual(['203.0.113.9, 127.0.0.1']);
    expect(valuesOf(seen, 'x-forwarded-proto')).toEqual(['https, http']);
    expect(valuesOf(seen, 'x-forwarded-host')).toEqual([host]);
    expect(valuesOf(seen, 'host')).toEqual([host]);
  });

  test('the Authorization header is forwarded by default', async () => {
    const jwt = await token();
    await sidecar().request('/api/orders/1', bearer(jwt));
    expect(valuesOf(upstream().last().rawHeaders, 'authorization')).toEqual([`Bearer ${jwt}`]);
  });

  test('a chunked upstream response streams: the first chunk arrives before the upstream has finished', async () => {
    const response = await sidecar().request('/api/orders/chunked', bearer(await token()));
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('one,');
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe('two,three');
  });

  test('a 204 answer passes through without a body', async () => {
    const response = await raw('GET', '/public/empty');
    expect(response.status).toBe(204);
    expect(response.headers['x-app']).toBe('yes');
    expect(response.body).toBe('');
  });

  test('a client that goes away while the upstream works releases the upstream request', async () => {
    const before = upstream().hangsClosed();
    const gone = new AbortController();
    const request = sidecar().request('/api/orders/hang', { ...bearer(await token()), signal: gone.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    gone.abort();
    await expect(request).rejects.toThrow();
    await expect.poll(() => upstream().hangsClosed(), { timeout: 500 }).toBe(before + 1);
  });

  test('an informational answer (103 Early Hints) is not relayed; the final answer is', async () => {
    const result = await raw('GET', '/public/early-hints');
    expect(result.status).toBe(200);
    expect(result.body).toBe('after hints');
  });

  test('HEAD is forwarded and answered without a body', async () => {
    const response = await raw('HEAD', '/public/head');
    expect(response.status).toBe(200);
    expect(response.body).toBe('');
    expect(upstream().last().method).toBe('HEAD');
  });

  test('methods beyond the common ones are forwarded too', async () => {
    const response = await sidecar().request('/public/dav', { method: 'PROPFIND', body: '<propfind/>' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ method: 'PROPFIND', body: '<propfind/>' });
  });
});

describe('forwardToken: false', () => {
  const stripping = useTestSidecar(() => ({ ...proxyConfig(), forwardToken: false }));

  test('the Authorization header is removed before forwarding', async () => {
    const response = await stripping().request('/api/orders/1', bearer(await token()));
    expect(response.status).toBe(200);
    const seen = (await response.json()) as Received;
    expect(valuesOf(seen.rawHeaders, 'authorization')).toEqual([]);
    expect(valuesOf(seen.rawHeaders, 'x-auth-subject')).toEqual(['user-1']);
  });
});

describe('upstream failures', () => {
  test('an unreachable upstream gets 502 with a JSON reason', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await close(closed);
    const down = await startTestSidecar({ ...proxyConfig(), upstream: `http://127.0.0.1:${port}` });
    try {
      const response = await down.request('/public/x');
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ error: 'bad_gateway', reason: 'upstream_unreachable' });
    } finally {
      await down.shutdown();
    }
  });

  test('a status line HTTP allows but Node cannot send (999) gets 502', async () => {
    const response = await sidecar().request('/public/odd-status');
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: 'bad_gateway', reason: 'upstream_failed' });
  });

  test('an upstream that does not answer within upstreamTimeout gets 504 with a JSON reason', async () => {
    const started = Date.now();
    const response = await sidecar().request('/api/orders/hang', bearer(await token()));
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: 'gateway_timeout', reason: 'upstream_timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

/**
 * A POST to /api/orders/upload whose body `write` sends, through http.request (fetch cannot send chunked bodies of
 * unknown length or wait for 100 Continue).
 */
function upload(headers: Record<string, string>, write: (request: ClientRequest) => void): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${sidecar().dataPlaneUrl}/api/orders/upload`, { method: 'POST', headers });
    request.on('response', async (response: IncomingMessage) => {
      let text = '';
      for await (const chunk of response) text += (chunk as Buffer).toString();
      resolve({ status: response.statusCode!, text });
    });
    request.on('error', reject);
    write(request);
  });
}

const chunks = (count: number, size: number) => Readable.from(Array.from({ length: count }, (_, index) => Buffer.alloc(size, 97 + index)));

describe('limits', () => {
  test('a body declared larger than limits.bodyBytes gets 413 and is not forwarded', async () => {
    const { result, reached } = await hits(async () =>
      sidecar().request('/api/orders/1', { method: 'POST', headers: { authorization: `Bearer ${await token()}` }, body: 'x'.repeat(1025) }),
    );
    expect(result.status).toBe(413);
    expect(await result.json()).toMatchObject({ error: 'payload_too_large', reason: 'body_too_large' });
    expect(reached).toBe(false);
  });

  test('a chunked body that grows past limits.bodyBytes gets 413', async () => {
    const headers = { authorization: `Bearer ${await token()}`, 'transfer-encoding': 'chunked' };
    const { status, text } = await upload(headers, (request) => chunks(8, 256).pipe(request));
    expect(status).toBe(413);
    expect(JSON.parse(text)).toMatchObject({ reason: 'body_too_large' });
  });

  test('a chunked body within the limit is forwarded whole', async () => {
    const headers = { authorization: `Bearer ${await token()}`, 'transfer-encoding': 'chunked' };
    const { text } = await upload(headers, (request) => chunks(2, 500).pipe(request));
    expect((JSON.parse(text) as Received).body).toBe('a'.repeat(500) + 'b'.repeat(500));
  });

  test('a client that waits for 100 Continue gets it and its body is forwarded', async () => {
    const headers = { authorization: `Bearer ${await token()}`, expect: '100-continue', 'content-length': '5' };
    const { text } = await upload(headers, (request) => request.on('continue', () => request.end('hello')));
    const seen = JSON.parse(text) as Received;
    expect(seen.body).toBe('hello');
    expect(valuesOf(seen.rawHeaders, 'expect')).toEqual([]);
  });

  test('headers larger than limits.headerBytes get 431', async () => {
    const response = await raw('GET', '/public/x', [['X-Big', 'y'.repeat(5000)]]);
    expect(response.status).toBe(431);
  });
});

describe('identity header spoofing: the upstream only ever sees verified values', () => {
  test('X-Auth-Subject sent with a valid token is replaced by the verified subject', async () => {
    await raw('GET', '/api/orders/1', [
      ['Authorization', `Bearer ${await token()}`],
      ['X-Auth-Subject', 'admin'],
    ]);
    expect(valuesOf(upstream().last().rawHeaders, 'x-auth-subject')).toEqual(['user-1']);
  });

  test('mixed-case and duplicated spoofed headers are all removed', async () => {
    await raw('GET', '/api/orders/1', [
      ['x-AUTH-subject', 'admin'],
      ['Authorization', `Bearer ${await token()}`],
      ['X-Auth-Subject', 'root'],
      ['x-auth-scopes', 'admin'],
      ['X-AUTH-SCOPES', 'admin'],
      ['Remote-User', 'admin@example.com'],
    ]);
    const seen = upstream().last().rawHeaders;
    expect(valuesOf(seen, 'x-auth-subject')).toEqual(['user-1']);
    expect(valuesOf(seen, 'x-auth-scopes')).toEqual(['read:orders']);
    expect(valuesOf(seen, 'remote-user')).toEqual(['u1@example.com']);
  });

  test('on a public route every identity header and every x-auth-* header is removed', async () => {
    await raw('GET', '/public/page', [
      ['X-Auth-Subject', 'admin'],
      ['x-auth-subject', 'admin'],
      ['X-Auth-Role', 'superuser'],
      ['Remote-User', 'admin'],
    ]);
    const seen = upstream().last().rawHeaders;
    expect(seen.filter((_, index) => index % 2 === 0).map((name) => name.toLowerCase()).filter((name) => name.startsWith('x-auth-') || name === 'remote-user')).toEqual([]);
  });

  test('a spoofed header named in Connection cannot take the verified one with it', async () => {
    await raw('GET', '/api/orders/1', [
      ['Authorization', `Bearer ${await token()}`],
      ['X-Auth-Subject', 'admin'],
      ['Connection', 'x-auth-subject'],
    ]);
    expect(valuesOf(upstream().last().rawHeaders, 'x-auth-subject')).toEqual(['user-1']);
  });
});

describe('identity header aliases: spellings CGI, WSGI, Rack and PHP fold onto an identity header never reach the upstream', () => {
  /** Header names of what the upstream last received that fold (lower-case, non-alphanumerics to -) onto `name`. */
  function foldedOnto(rawHeaders: string[], name: string): string[] {
    return rawHeaders.filter((_, index) => index % 2 === 0).filter((header) => header.toLowerCase().replace(/[^a-z0-9]/g, '-') === name);
  }

  test('X_Auth_Subject sent with a valid token is dropped and only the verified subject arrives', async () => {
    const response = await raw('GET', '/api/orders/1', [
      ['Authorization', `Bearer ${await token()}`],
      ['X_Auth_Subject', 'admin'],
    ]);
    expect(response.status).toBe(200);
    const seen = upstream().last().rawHeaders;
    expect(foldedOnto(seen, 'x-auth-subject')).toEqual(['x-auth-subject']);
    expect(valuesOf(seen, 'x-auth-subject')).toEqual(['user-1']);
  });

  test('every alias spelling of an x-auth-* name or a claimHeaders name is dropped on a public route', async () => {
    const response = await raw('GET', '/public/aliases', [
      ['x_auth-subject', 'admin'],
      ['X-AUTH_SUBJECT', 'admin'],
      ['X_AUTH_SUBJECT', 'admin'],
      ['x.auth.subject', 'admin'],
      ['X_Auth_Role', 'superuser'],
      ['Remote_User', 'admin@example.com'],
      ['remote.user', 'admin@example.com'],
      ['X_Custom', 'kept'],
    ]);
    expect(response.status).toBe(200);
    const seen = upstream().last().rawHeaders;
    for (const name of ['x-auth-subject', 'x-auth-role', 'remote-user']) expect(foldedOnto(seen, name)).toEqual([]);
    expect(valuesOf(seen, 'x_custom')).toEqual(['kept']);
  });

  test('a dropped alias is counted in identity_header_spoof_total{mode="proxy"}', async () => {
    const before = sampleValue(await sidecar().metricsText(), 'identity_header_spoof_total', { mode: 'proxy' });
    await raw('GET', '/public/counted', [
      ['X_Auth_Subject', 'admin'],
      ['X_Auth_Scopes', 'admin'],
    ]);
    expect(sampleValue(await sidecar().metricsText(), 'identity_header_spoof_total', { mode: 'proxy' })).toBe(before + 1);
  });

  test('a dropped alias is recorded in the audit log by name, never by value, and without the query', async () => {
    await raw('POST', '/public/audited?access_token=secret-in-query', [
      ['X_Auth_Subject', 'forged-identity-value'],
      ['Content-Length', '0'],
    ]);
    const event = sidecar().logs.findLast((line) => line.event === 'identity_header_spoof')!;
    expect(event).toMatchObject({ mode: 'proxy', method: 'POST', path: '/public/audited', headers: ['X_Auth_Subject'] });
    expect(JSON.stringify(event)).not.toContain('forged-identity-value');
    expect(JSON.stringify(event)).not.toContain('secret-in-query');
  });
});

describe('path tricks: each request gets the policy of the path the upstream serves, or 400', () => {
  const allScopes = () => token('read:orders admin');

  test.each([
    ['/public/../api/orders', '/api/orders/**'],
    ['//api/orders/1', '/api/orders/**'],
    ['/public/%2e%2e/api/admin/users', '/api/admin/**'],
    ['/public/./..//api/orders/1', '/api/orders/**'],
  ])('%s without a token gets the policy of %s: 401, not forwarded', async (target) => {
    const { result, reached } = await hits(() => raw('GET', target));
    expect(result.status).toBe(401);
    expect(reached).toBe(false);
  });

  test.each([
    ['/public/../api/orders', '/api/orders'],
    ['//api/orders/1', '/api/orders/1'],
    ['/api/orders/%2e%2e/admin/users', '/api/admin/users'],
    ['/api/%61dmin/./users/', '/api/admin/users/'],
    ['/api/admin///users?x=%2e%2e', '/api/admin/users?x=%2e%2e'],
    ['/public/%7Efile%20name', '/public/~file%20name'],
  ])('%s reaches the upstream as %s', async (target, served) => {
    const response = await raw('GET', target, [['Authorization', `Bearer ${await allScopes()}`]]);
    expect(response.status).toBe(200);
    expect(upstream().last().url).toBe(served);
  });

  test('/api/orders/%2e%2e/admin/users with an orders-only token gets the admin policy: 403', async () => {
    const { result, reached } = await hits(async () => raw('GET', '/api/orders/%2e%2e/admin/users', [['Authorization', `Bearer ${await token()}`]]));
    expect(result.status).toBe(403);
    expect(reached).toBe(false);
  });

  test.each([
    ['encoded slash', '/public%2F..%2Fapi/admin/users'],
    ['encoded slash, lower case', '/api/orders%2f1'],
    ['encoded backslash', '/public/..%5Capi/admin/users'],
    ['encoded NUL', '/api/orders/1%00.json'],
    ['overlong UTF-8 dot', '/public/%c0%ae%c0%ae/api/admin/users'],
    ['overlong UTF-8 slash', '/public/..%c0%afapi/admin/users'],
    ['invalid UTF-8', '/public/%ff'],
    ['climbing above the root', '/public/../../etc/passwd'],
    ['raw backslash', '/public/..\\api/admin'],
  ])('%s (%s) gets 400 and is not forwarded', async (_name, target) => {
    const { result, reached } = await hits(() => raw('GET', target, [['Authorization', `Bearer ${'x'.repeat(20)}`]]));
    expect(result.status).toBe(400);
    expect(JSON.parse(result.body)).toMatchObject({ error: 'invalid_request' });
    expect(reached).toBe(false);
  });
});

describe('shutdown', () => {
  test('in-flight proxied requests finish before shutdown resolves', async () => {
    const draining = await startTestSidecar(proxyConfig());
    const inFlight = draining.request('/api/orders/slow', bearer(await token()));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = draining.shutdown();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as Received).url).toBe('/api/orders/slow');
    await stopped;
    await expect(draining.request('/public/x')).rejects.toThrow();
  });

  test('connections that never sent a request are closed at once: they do not hold the drain until shutdownTimeout', async () => {
    const draining = await startTestSidecar(proxyConfig());
    const { port } = new URL(draining.dataPlaneUrl);
    // Opened ahead of need, as pooling clients and proxies do, and never used: two to the data plane, one to admin.
    const adminPort = Number(new URL(draining.adminUrl).port);
    const unused = [connect(Number(port), '127.0.0.1'), connect(Number(port), '127.0.0.1'), connect(adminPort, '127.0.0.1')];
    // Closed by the server: a reset or an end, either is fine for a connection that carried nothing.
    for (const socket of unused) socket.on('error', () => {});
    await Promise.all(unused.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
    const closed = Promise.all(unused.map((socket) => new Promise((resolve) => socket.once('close', resolve))));
    const started = performance.now();
    await draining.shutdown();
    // shutdownTimeout is 15 s; the drain ends as soon as the server has closed them.
    expect(performance.now() - started).toBeLessThan(2000);
    await closed;
  });

  test('a request still arriving on a kept-alive connection once shutdown began gets 503 shutting_down and a close', async () => {
    const draining = await startTestSidecar(proxyConfig());
    const { port } = new URL(draining.dataPlaneUrl);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // The slow request keeps the connection busy (so shutdown does not close it as idle); the second one, pipelined
    // behind it, is sent once shutdown has begun.
    const auth = `Bearer ${await token()}`;
    socket.write(`GET /api/orders/slow HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = draining.shutdown();
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write('GET /public/after HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    await stopped;
    const answers = received.split('HTTP/1.1 ').filter(Boolean);
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/^200 /);
    expect(answers[1]).toMatch(/^503 /);
    expect(answers[1]).toMatch(/\r\nconnection: close\r\n/i);
    expect(answers[1]).toContain('"reason":"shutting_down"');
  });
});
