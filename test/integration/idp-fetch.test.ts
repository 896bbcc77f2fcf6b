import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { selfSignedCertificate } from '../../bench/lib/tls.mjs';
import { fetchIdpJson, type IdpFetchError } from '../../src/auth/idp-fetch.js';
import { runCli } from '../support/cli-process.js';
import { close, freePort, listen } from '../support/lifecycle.js';
import { requireTool } from '../support/tools.js';
import { createSigningKey } from '../support/tokens.js';

/** The IdP's side of one fetch, decided by each test. */
let answer: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) => response.end();
const idp = createServer((request, response) => answer(request, response));
const base = `http://127.0.0.1:${await listen(idp)}`;
afterAll(() => close(idp));
afterEach(() => {
  // A test that left a response hanging ends it here, so the server can close.
  idp.closeAllConnections();
});

const FETCH = { timeoutMs: 2000, maxBytes: 1024 };

async function failureOf(fetching: Promise<unknown>): Promise<IdpFetchError> {
  return fetching.then(
    () => expect.fail('the fetch succeeded'),
    (error: unknown) => error as IdpFetchError,
  );
}

describe('fetching a document from the IdP', () => {
  test('a JSON document comes back with its Cache-Control max-age in milliseconds', async () => {
    answer = (_request, response) => response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' }).end('{"keys":[]}');
    expect(await fetchIdpJson(`${base}/jwks`, FETCH)).toEqual({ body: { keys: [] }, maxAgeMs: 300_000 });
  });

  test('the request says who asks and that it wants JSON', async () => {
    let headers: IncomingMessage['headers'] = {};
    answer = (request, response) => {
      headers = request.headers;
      response.end('{}');
    };
    await fetchIdpJson(`${base}/jwks`, FETCH);
    expect(headers).toMatchObject({ accept: 'application/json', 'user-agent': 'tokenwatch' });
  });

  test('a kept-alive connection the IdP closed while it sat idle is replaced, and the fetch succeeds', async () => {
    answer = (_request, response) => response.end('{"keys":[]}');
    await fetchIdpJson(`${base}/jwks`, FETCH);
    idp.closeIdleConnections();
    expect((await fetchIdpJson(`${base}/jwks`, FETCH)).body).toEqual({ keys: [] });
  });

  test('a redirect is not followed: it fails as its status, and its target is never asked', async () => {
    const asked: string[] = [];
    answer = (request, response) => {
      asked.push(request.url!);
      if (request.url === '/jwks') response.writeHead(302, { location: '/elsewhere' }).end();
      else response.end('{"keys":[]}');
    };
    const failure = await failureOf(fetchIdpJson(`${base}/jwks`, FETCH));
    expect(failure).toMatchObject({ code: 'ERR_IDP_FETCH_ERROR', message: 'HTTP 302' });
    expect(asked).toEqual(['/jwks']);
  });

  test('an error status fails at once, without waiting for a body that never ends', async () => {
    answer = (_request, response) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.write('{"error":');
    };
    const failure = await failureOf(fetchIdpJson(`${base}/jwks`, { ...FETCH, timeoutMs: 20_000 }));
    expect(failure).toMatchObject({ code: 'ERR_IDP_FETCH_ERROR', message: 'HTTP 500' });
  });

  test('a body past the size cap fails as invalid', async () => {
    answer = (_request, response) => response.end(JSON.stringify({ keys: [], padding: 'x'.repeat(FETCH.maxBytes) }));
    const failure = await failureOf(fetchIdpJson(`${base}/jwks`, FETCH));
    expect(failure).toMatchObject({ code: 'ERR_IDP_FETCH_INVALID', message: `body larger than ${FETCH.maxBytes} bytes` });
  });

  test('a body that stops arriving fails as a timeout at the deadline', async () => {
    answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"keys":[');
    };
    const started = performance.now();
    const failure = await failureOf(fetchIdpJson(`${base}/jwks`, { ...FETCH, timeoutMs: 300 }));
    expect(failure).toMatchObject({ code: 'ERR_IDP_FETCH_TIMEOUT', message: 'timed out' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  test('a refused connection fails as a network error naming its code', async () => {
    const failure = await failureOf(fetchIdpJson(`http://127.0.0.1:${await freePort()}/jwks`, FETCH));
    expect(failure).toMatchObject({ code: 'ERR_IDP_FETCH_ERROR', message: 'network error ECONNREFUSED' });
  });

  test('an https IdP is reached over TLS, trusting the CAs given to Node.js (NODE_EXTRA_CA_CERTS)', async () => {
    requireTool('openssl', 'openssl');
    const dir = await mkdtemp(join(tmpdir(), 'tokenwatch-idp-tls-'));
    const tls = selfSignedCertificate(dir);
    const key = await createSigningKey('RS256');
    const server = createHttpsServer({ key: tls.key, cert: tls.cert }, (request, response) => {
      const documents: Record<string, unknown> = {
        '/.well-known/openid-configuration': { issuer, jwks_uri: `${issuer}/jwks` },
        '/jwks': { keys: [key.publicJwk] },
      };
      const document = documents[request.url!];
      if (document === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const config = join(dir, 'tokenwatch.json');
      await writeFile(config, JSON.stringify({ issuers: [{ issuer, audiences: ['orders-api'] }] }));
      const check = runCli(['check-config', '--live', config], { NODE_EXTRA_CA_CERTS: tls.certFile });
      expect(await check.exited, check.stdout() + check.stderr()).toBe(0);
      expect(check.stdout()).toContain(key.kid);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
