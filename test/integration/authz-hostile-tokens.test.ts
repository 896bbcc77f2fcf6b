import { beforeAll, describe, expect, test } from 'vitest';
import type { JWK } from 'jose';
import { b64url, compact, createSigningKey, epoch, hmacWithPublicKey, signWith, unsigned, withClaims, withHeader } from '../support/tokens.js';
import { useJwksServer } from '../support/jwks-server.js';
import { rawRequest } from '../support/raw-http.js';
import { bearer, useTestSidecar } from '../support/sidecar.js';

const jwks = useJwksServer();
let ecKid = '';
beforeAll(async () => {
  ecKid = await jwks().addKey('ES256');
});
const sidecar = useTestSidecar(() => ({
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'], jwksCooldown: '1h' }],
  routes: [
    { path: '/healthz', public: true },
    { path: '/api/orders/**', methods: ['GET'], scopes: ['read:orders'] },
  ],
}));

const good = () => ({ aud: 'orders-api', sub: 'user-1', client_id: 'orders-service', scope: 'read:orders' });

async function expectRefused(token: string, status: number, reason: string) {
  const response = await sidecar().request('/api/orders/1', bearer(token));
  const body = (await response.json()) as { reason: string; error: string };
  expect({ status: response.status, reason: body.reason }).toEqual({ status, reason });
  const text = JSON.stringify(body) + (response.headers.get('www-authenticate') ?? '');
  for (const part of token.split('.')) if (part.length > 12) expect(text).not.toContain(part);
  return response;
}

describe('forward-auth answers', () => {
  test('a valid token is allowed with the identity headers', async () => {
    const response = await sidecar().request('/api/orders/1', bearer(await jwks().sign(good())));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-auth-subject')).toBe('user-1');
    expect(response.headers.get('x-auth-client-id')).toBe('orders-service');
    expect(response.headers.get('x-auth-scopes')).toBe('read:orders');
  });

  test('the scheme is case-insensitive', async () => {
    const token = await jwks().sign(good());
    const response = await sidecar().request('/api/orders/1', { headers: { authorization: `bEaReR ${token}` } });
    expect(response.status).toBe(200);
  });

  test('no credentials get 401 with a bare Bearer challenge and no error code', async () => {
    const response = await sidecar().request('/api/orders/1');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="tokenwatch"');
    expect(((await response.json()) as { reason: string }).reason).toBe('missing_token');
  });

  test('Basic credentials count as no bearer credentials', async () => {
    const response = await sidecar().request('/api/orders/1', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="tokenwatch"');
  });

  test('a public route needs no token', async () => {
    expect((await sidecar().request('/healthz')).status).toBe(200);
  });

  test('a missing scope gets 403 insufficient_scope naming the scope', async () => {
    const token = await jwks().sign({ ...good(), scope: 'read:reports' });
    const response = await expectRefused(token, 403, 'insufficient_scope');
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="tokenwatch", error="insufficient_scope", error_description="the token lacks a scope this route requires", scope="read:orders"',
    );
  });

  test('scopes are read from scp arrays too', async () => {
    const token = await jwks().sign({ ...good(), scope: undefined, scp: ['read:orders'] });
    expect((await sidecar().request('/api/orders/1', bearer(token))).status).toBe(200);
  });

  test('a bad token gets 401 invalid_token with a description', async () => {
    const token = withClaims(await jwks().sign(good()), { sub: 'admin' });
    const response = await expectRefused(token, 401, 'invalid_signature');
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="tokenwatch", error="invalid_token", error_description="[^"]+"$/);
  });
});

describe('hostile tokens, each with its reason and status', () => {
  test('alg none', async () => {
    await expectRefused(unsigned({ ...good(), iss: jwks().issuer, exp: epoch(300) }, { kid: jwks().currentKid() }), 401, 'disallowed_algorithm');
  });

  test('HS256 signed with the RSA public key (algorithm confusion)', async () => {
    const key = await publishedJwk(jwks().currentKid());
    const token = hmacWithPublicKey(key, { ...good(), iss: jwks().issuer, exp: epoch(300), iat: epoch() }, { kid: jwks().currentKid() });
    await expectRefused(token, 401, 'disallowed_algorithm');
  });

  test('signed by a key the issuer never published, under a published kid', async () => {
    const rogue = await createSigningKey('RS256');
    const token = await signWith(rogue.privateKey, { alg: 'RS256', kid: jwks().currentKid() }, { ...good(), iss: jwks().issuer, exp: epoch(300), iat: epoch() });
    await expectRefused(token, 401, 'invalid_signature');
  });

  test('tampered payload', async () => {
    await expectRefused(withClaims(await jwks().sign(good()), { scope: 'read:orders admin' }), 401, 'invalid_signature');
  });

  test('ECDSA signature with r = s = 0', async () => {
    const kid = ecKid;
    const zero = b64url(new Uint8Array(64));
    const token = compact({ alg: 'ES256', kid }, { ...good(), iss: jwks().issuer, exp: epoch(300), iat: epoch() }, zero);
    await expectRefused(token, 401, 'invalid_signature');
  });

  test('expired', async () => {
    await expectRefused(await jwks().sign({ ...good(), iat: epoch(-600), exp: epoch(-120) }), 401, 'expired');
  });

  test('expired within the clock tolerance is still accepted', async () => {
    const token = await jwks().sign({ ...good(), iat: epoch(-600), exp: epoch(-10) });
    expect((await sidecar().request('/api/orders/1', bearer(token))).status).toBe(200);
  });

  test('nbf in the future', async () => {
    await expectRefused(await jwks().sign({ ...good(), nbf: epoch(600) }), 401, 'not_yet_valid');
  });

  test('wrong iss', async () => {
    await expectRefused(await jwks().sign({ ...good(), iss: 'https://evil.example.com' }), 401, 'invalid_issuer');
  });

  test('wrong aud', async () => {
    await expectRefused(await jwks().sign({ ...good(), aud: 'billing-api' }), 401, 'invalid_audience');
  });

  test('no exp', async () => {
    await expectRefused(await jwks().sign({ ...good(), exp: undefined }), 401, 'invalid_claims');
  });

  test('exp: 1e20 exceeds the maximum lifetime', async () => {
    await expectRefused(await jwks().sign({ ...good(), exp: 1e20 }), 401, 'invalid_claims');
  });

  test('unknown kid', async () => {
    const rogue = await createSigningKey('RS256', 'no-such-kid');
    const token = await signWith(rogue.privateKey, { alg: 'RS256', kid: 'no-such-kid' }, { ...good(), iss: jwks().issuer, exp: epoch(300), iat: epoch() });
    await expectRefused(token, 401, 'unknown_key');
  });

  test('embedded jwk header is never used for keys', async () => {
    const rogue = await createSigningKey('RS256', 'attacker');
    const header = { alg: 'RS256', kid: 'attacker', jwk: rogue.publicJwk };
    const token = await signWith(rogue.privateKey, header, { ...good(), iss: jwks().issuer, exp: epoch(300), iat: epoch() });
    await expectRefused(token, 401, 'unknown_key');
  });

  test('embedded jwk under a published kid fails the signature', async () => {
    const rogue = await createSigningKey('RS256');
    const header = { alg: 'RS256', kid: jwks().currentKid(), jwk: rogue.publicJwk };
    const token = await signWith(rogue.privateKey, header, { ...good(), iss: jwks().issuer, exp: epoch(300), iat: epoch() });
    await expectRefused(token, 401, 'invalid_signature');
  });

  test('jku header is never fetched', async () => {
    const before = jwks().fetchCount();
    const rogue = await createSigningKey('RS256', 'jku-key');
    const header = { alg: 'RS256', kid: 'jku-key', jku: `${jwks().issuer}/attacker-jwks` };
    const token = await signWith(rogue.privateKey, header, { ...good(), iss: jwks().issuer, exp: epoch(300), iat: epoch() });
    await expectRefused(token, 401, 'unknown_key');
    expect(jwks().fetchCount() - before).toBeLessThanOrEqual(1);
  });

  test('unknown crit header', async () => {
    const header = { alg: 'RS256', kid: jwks().currentKid(), crit: ['exp-policy'], 'exp-policy': 1 };
    await expectRefused(compact(header, { ...good(), iss: jwks().issuer, exp: epoch(300) }, 'c2lnbmF0dXJl'), 401, 'malformed');
  });

  test('oversized token', async () => {
    await expectRefused(await jwks().sign({ ...good(), padding: 'x'.repeat(9000) }), 401, 'malformed');
  });

  test('non-base64url parts', async () => {
    await expectRefused('abc$.def.ghi', 401, 'malformed');
    await expectRefused('abc.d"ef.ghi', 401, 'malformed');
    await expectRefused('a b.c.d', 401, 'malformed');
  });

  test('non-JSON parts', async () => {
    await expectRefused(`${b64url('not json')}.${b64url('{}')}.c2ln`, 401, 'malformed');
    const token = await jwks().sign(good());
    await expectRefused(`${token.split('.')[0]}.${b64url('[1,2]')}.${token.split('.')[2]}`, 401, 'malformed');
  });

  test('JWE (five parts)', async () => {
    await expectRefused(`${b64url({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`, 401, 'malformed');
  });

  test('header with a non-string kid', async () => {
    await expectRefused(withHeader(await jwks().sign(good()), { kid: 7 }), 401, 'malformed');
  });

  test('two Authorization headers are a malformed request (400)', async () => {
    const token = await jwks().sign(good());
    const response = await rawRequest(sidecar().dataPlaneUrl, 'GET', '/api/orders/1', [
      ['Authorization', `Bearer ${token}`],
      ['authorization', `Bearer ${token}`],
    ]);
    expect(response.status).toBe(400);
    expect(response.headers['www-authenticate']).toContain('error="invalid_request"');
  });

  test('a token in the header and in the query is a malformed request (400)', async () => {
    const token = await jwks().sign(good());
    const response = await sidecar().request(`/api/orders/1?access_token=${token}`, bearer(token));
    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain(token.split('.')[1]);
  });

  test('a token only in the query is refused unless allowQueryToken', async () => {
    const token = await jwks().sign(good());
    expect((await sidecar().request(`/api/orders/1?access_token=${token}`)).status).toBe(400);
  });
});

async function publishedJwk(kid: string): Promise<JWK> {
  const document = (await (await fetch(jwks().jwksUri)).json()) as { keys: JWK[] };
  return document.keys.find((key) => key.kid === kid)!;
}

describe('connections', () => {
  test('checks decided in the same turn are each answered with their own decision (answers are written in batches)', async () => {
    const subjects = Array.from({ length: 40 }, (_, index) => `user-${index}`);
    const tokens = await Promise.all(subjects.map((sub) => jwks().sign({ ...good(), sub })));
    // Every third token is tampered with and every fifth request carries none: three answers, interleaved.
    const asked = tokens.map((token, index) => (index % 5 === 4 ? undefined : index % 3 === 2 ? `${token.slice(0, -4)}AAAA` : token));
    const answers = await Promise.all(asked.map((token) => sidecar().request('/api/orders/1', token ? bearer(token) : {})));
    const seen = await Promise.all(
      answers.map(async (response) => ({ status: response.status, subject: response.headers.get('x-auth-subject'), reason: response.ok ? undefined : ((await response.json()) as { reason: string }).reason })),
    );
    expect(seen).toEqual(
      asked.map((token, index) =>
        token === undefined
          ? { status: 401, subject: null, reason: 'missing_token' }
          : index % 3 === 2
            ? { status: 401, subject: null, reason: 'invalid_signature' }
            : { status: 200, subject: subjects[index], reason: undefined },
      ),
    );
  });

  test('pipelined checks on one connection are answered in order; clients that leave before their answer harm no one', async () => {
    const net = await import('node:net');
    const url = new URL(sidecar().dataPlaneUrl);
    const token = await jwks().sign(good());
    const check = (authorization: string) => `GET /api/orders/1 HTTP/1.1\r\nHost: ${url.host}\r\n${authorization}\r\n`;
    // Ten connections send a check and leave at once, before any answer can have been written.
    for (let index = 0; index < 10; index += 1) {
      const leaver = net.connect(Number(url.port), url.hostname, () => leaver.end(check(`Authorization: Bearer ${token}\r\n`)));
      leaver.on('data', () => leaver.destroy());
      leaver.on('error', () => undefined);
    }
    const socket = net.connect(Number(url.port), url.hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.write(check(`Authorization: Bearer ${token}\r\n`) + check('X-No-Token: 1\r\n') + check(`Authorization: Bearer ${token}\r\n`));
    await new Promise((resolve) => setTimeout(resolve, 500));
    socket.destroy();
    expect(received.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 401', 'HTTP/1.1 200']);
    expect((await sidecar().request('/api/orders/1', bearer(token))).status).toBe(200);
  });

  test('an idle keep-alive connection outlives the Node default of 5 s, so a calling proxy never reuses a closing one', async () => {
    const net = await import('node:net');
    const url = new URL(sidecar().dataPlaneUrl);
    const socket = net.connect(Number(url.port), url.hostname);
    const answers: string[] = [];
    socket.on('data', (chunk: Buffer) => answers.push(chunk.toString('latin1')));
    const request = `GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`;
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(request);
    await new Promise((resolve) => setTimeout(resolve, 7000));
    expect(socket.destroyed || socket.readyState !== 'open').toBe(false);
    socket.write(request);
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    expect(answers.join('').match(/HTTP\/1\.1 200/g)).toHaveLength(2);
  }, 12_000);
});
