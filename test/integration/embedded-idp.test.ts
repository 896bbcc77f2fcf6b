import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { startEmbeddedIdp, type EmbeddedIdp } from '../../src/dev/embedded-idp.js';
import { TokenRequestError, useDemoUpstream, useEmbeddedIdp, type DemoUpstreamEcho } from '../support/idp.js';
import { useJwksServer } from '../support/jwks-server.js';
import { hmacWithPublicKey, unsigned, withClaims } from '../support/tokens.js';

async function publishedKids(jwksUri: string): Promise<string[]> {
  const { keys } = (await (await fetch(jwksUri)).json()) as { keys: { kid: string }[] };
  return keys.map((key) => key.kid);
}

function verifyAccessToken(idp: EmbeddedIdp, token: string, audience = 'orders-api') {
  return jwtVerify(token, createRemoteJWKSet(new URL(idp.jwksUri)), { issuer: idp.issuer, audience, typ: 'at+jwt' });
}

// First in the file: the first start is the one that loads oidc-provider and so the one its import-time notice
// ("Unsupported runtime" on Node 20) would come from.
describe('embedded IdP output', () => {
  test('it prints none of oidc-provider notices while starting, issuing, rotating and stopping', async () => {
    const info = vi.spyOn(console, 'info');
    const warn = vi.spyOn(console, 'warn');
    const log = vi.spyOn(console, 'log');
    try {
      const idp = await startEmbeddedIdp();
      await idp.getToken(idp.clients.orders);
      await idp.rotateKeys();
      await idp.getToken(idp.clients.orders);
      await idp.stop();
      expect([...info.mock.calls, ...warn.mock.calls, ...log.mock.calls]).toEqual([]);
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe('embedded IdP tokens', () => {
  const idp = useEmbeddedIdp();

  test('it issues RFC 9068 JWT access tokens that verify against its JWKS', async () => {
    const token = await idp().getToken(idp().clients.orders);
    const { payload, protectedHeader } = await verifyAccessToken(idp(), token);

    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'at+jwt', kid: idp().currentKid() });
    expect(payload).toMatchObject({
      iss: idp().issuer,
      aud: 'orders-api',
      scope: 'read:orders write:orders',
      client_id: 'orders-service',
      sub: 'orders-service',
    });
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.exp! - payload.iat!).toBe(300);
  });

  test('the token response is a bearer token with its scope and lifetime', async () => {
    const response = await idp().getTokenResponse(idp().clients.orders, ['read:orders']);
    expect(response).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'read:orders' });
  });

  test('a client gets only the scopes it asks for', async () => {
    const { payload } = await verifyAccessToken(idp(), await idp().getToken(idp().clients.orders, ['read:orders']));
    expect(payload.scope).toBe('read:orders');
  });

  test('the reporting client gets read:reports but is refused read:orders', async () => {
    const { payload } = await verifyAccessToken(idp(), await idp().getToken(idp().clients.reporting));
    expect(payload).toMatchObject({ scope: 'read:reports', client_id: 'reporting-service' });

    const refusal = idp().getToken(idp().clients.reporting, ['read:orders']);
    await expect(refusal).rejects.toBeInstanceOf(TokenRequestError);
    await expect(refusal).rejects.toMatchObject({ status: 400, code: 'invalid_scope' });
  });

  test('a wrong client secret is refused as invalid_client', async () => {
    const impostor = { ...idp().clients.orders, clientSecret: 'not-the-secret' };
    await expect(idp().getToken(impostor)).rejects.toMatchObject({ status: 401, code: 'invalid_client' });
  });

  test('discovery names the issuer, the JWKS and the token endpoint it serves', async () => {
    const discovery = (await (await fetch(`${idp().issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: idp().issuer,
      jwks_uri: idp().jwksUri,
      token_endpoint: idp().tokenEndpoint,
    });
    expect(discovery.grant_types_supported).toContain('client_credentials');
  });

  test('the JWKS publishes public keys only', async () => {
    const { keys } = (await (await fetch(idp().jwksUri)).json()) as { keys: Record<string, unknown>[] };
    expect(keys.map((key) => key.kid)).toEqual([idp().currentKid()]);
    for (const key of keys) expect(key).not.toHaveProperty('d');
  });
});

describe('embedded IdP options', () => {
  test.each(['ES256', 'PS256'] as const)('it signs with %s when asked', async (signingAlg) => {
    const idp = await startEmbeddedIdp({ signingAlg });
    try {
      const { protectedHeader } = await verifyAccessToken(idp, await idp.getToken(idp.clients.orders));
      expect(protectedHeader).toMatchObject({ alg: signingAlg, kid: idp.currentKid() });
    } finally {
      await idp.stop();
    }
  });

  test('the audience and the token lifetime are configurable', async () => {
    const idp = await startEmbeddedIdp({ audience: 'https://billing.example', accessTokenTtlSeconds: 60 });
    try {
      const token = await idp.getToken(idp.clients.orders);
      const { payload } = await verifyAccessToken(idp, token, 'https://billing.example');
      expect(payload.exp! - payload.iat!).toBe(60);
    } finally {
      await idp.stop();
    }
  });

  test('provider events reach onEvent', async () => {
    const events: string[] = [];
    const idp = await startEmbeddedIdp({ onEvent: (name) => events.push(name) });
    try {
      await idp.getToken(idp.clients.orders);
      await idp.getToken(idp.clients.reporting, ['read:orders']).catch(() => undefined);
      expect(events).toEqual(['client_credentials.issued', 'grant.success', 'grant.error']);
    } finally {
      await idp.stop();
    }
  });
});

describe('embedded IdP key rotation', () => {
  const idp = useEmbeddedIdp();

  test('rotation signs with a new kid and keeps the previous key published, on the same issuer', async () => {
    const { issuer } = idp();
    const previousKid = idp().currentKid();
    const previousToken = await idp().getToken(idp().clients.orders);

    await idp().rotateKeys();

    expect(idp().currentKid()).not.toBe(previousKid);
    expect(idp().issuer).toBe(issuer);
    expect(await publishedKids(idp().jwksUri)).toEqual([idp().currentKid(), previousKid]);
    const token = await idp().getToken(idp().clients.orders);
    expect(decodeProtectedHeader(token).kid).toBe(idp().currentKid());
    await expect(verifyAccessToken(idp(), previousToken)).resolves.toBeDefined();
  });

  test('rotation without keepPrevious drops the previous key, so its tokens no longer verify', async () => {
    const previousToken = await idp().getToken(idp().clients.orders);

    await idp().rotateKeys({ keepPrevious: false });

    expect(await publishedKids(idp().jwksUri)).toEqual([idp().currentKid()]);
    await expect(verifyAccessToken(idp(), previousToken)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await expect(verifyAccessToken(idp(), await idp().getToken(idp().clients.orders))).resolves.toBeDefined();
  });
});

describe('JWKS test server', () => {
  const jwks = useJwksServer();

  afterEach(() => {
    jwks().setMode('ok');
    jwks().setKeys(undefined);
    jwks().setCacheControl(undefined);
    jwks().setDiscoveryOverrides(undefined);
  });

  const verify = (token: string) => jwtVerify(token, createRemoteJWKSet(new URL(jwks().jwksUri)), { issuer: jwks().issuer });

  test('ok serves discovery naming its JWKS, and a JWKS that verifies the tokens it signs', async () => {
    const discovery = await (await fetch(jwks().discoveryUrl)).json();
    expect(discovery).toMatchObject({ issuer: jwks().issuer, jwks_uri: jwks().jwksUri });

    const { payload, protectedHeader } = await verify(await jwks().sign({ sub: 'alice' }));
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: jwks().currentKid() });
    expect(payload.sub).toBe('alice');
  });

  test('down resets the connection without any HTTP answer', async () => {
    jwks().setMode('down');
    await expect(fetch(jwks().jwksUri)).rejects.toThrow(TypeError);
    await expect(fetch(jwks().discoveryUrl)).rejects.toThrow(TypeError);
  });

  test('hang accepts the request and never answers', async () => {
    jwks().setMode('hang');
    await expect(fetch(jwks().jwksUri, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  test('500 answers a server error', async () => {
    jwks().setMode('500');
    expect((await fetch(jwks().jwksUri)).status).toBe(500);
    expect((await fetch(jwks().discoveryUrl)).status).toBe(500);
  });

  test('invalid-json answers 200 application/json with a body that is not JSON', async () => {
    jwks().setMode('invalid-json');
    const response = await fetch(jwks().jwksUri);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    await expect(response.json()).rejects.toThrow(SyntaxError);
  });

  test('empty-keys serves a JWKS without keys', async () => {
    jwks().setMode('empty-keys');
    expect(await (await fetch(jwks().jwksUri)).json()).toEqual({ keys: [] });
    await expect(verify(await jwks().sign())).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  test('a mode can be set for one endpoint alone', async () => {
    jwks().setMode('500', 'jwks');
    expect((await fetch(jwks().discoveryUrl)).status).toBe(200);
    expect((await fetch(jwks().jwksUri)).status).toBe(500);
  });

  test('fetchCount and discoveryCount count the requests that reach each endpoint, whatever the mode', async () => {
    const before = { jwks: jwks().fetchCount(), discovery: jwks().discoveryCount() };
    await fetch(jwks().jwksUri);
    jwks().setMode('500');
    await fetch(jwks().jwksUri);
    await fetch(jwks().discoveryUrl);
    expect(jwks().fetchCount() - before.jwks).toBe(2);
    expect(jwks().discoveryCount() - before.discovery).toBe(1);
  });

  test('rotate signs with a new key and keeps the previous one published until removeKey', async () => {
    const previousKid = jwks().currentKid();
    const previousToken = await jwks().sign();
    const kid = await jwks().rotate();

    expect(kid).not.toBe(previousKid);
    expect(decodeProtectedHeader(await jwks().sign()).kid).toBe(kid);
    expect(await publishedKids(jwks().jwksUri)).toEqual([previousKid, kid]);
    await expect(verify(previousToken)).resolves.toBeDefined();

    jwks().removeKey(previousKid);
    expect(await publishedKids(jwks().jwksUri)).toEqual([kid]);
    await expect(verify(previousToken)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  test('addKey publishes a key without signing with it', async () => {
    const signingKid = jwks().currentKid();
    const added = await jwks().addKey('ES256');
    expect(await publishedKids(jwks().jwksUri)).toContain(added);
    expect(jwks().currentKid()).toBe(signingKid);
    expect(decodeProtectedHeader(await jwks().sign({}, { kid: added })).alg).toBe('ES256');
    jwks().removeKey(added);
  });

  test('setKeys serves a document verbatim', async () => {
    jwks().setKeys({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] });
    expect(await (await fetch(jwks().jwksUri)).json()).toEqual({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] });
  });

  test('setCacheControl sets the Cache-Control of the answers', async () => {
    expect((await fetch(jwks().jwksUri)).headers.get('cache-control')).toBeNull();
    jwks().setCacheControl('max-age=60');
    expect((await fetch(jwks().jwksUri)).headers.get('cache-control')).toBe('max-age=60');
  });

  test('setDiscoveryOverrides changes the discovery document', async () => {
    jwks().setDiscoveryOverrides({ issuer: 'https://someone-else.example' });
    expect(await (await fetch(jwks().discoveryUrl)).json()).toMatchObject({ issuer: 'https://someone-else.example' });
  });

  test('sign fills iss, iat and exp, and leaves out a claim set to undefined', async () => {
    const { payload } = await verify(await jwks().sign({ aud: 'orders-api', nbf: undefined }));
    expect(payload).toMatchObject({ iss: jwks().issuer, aud: 'orders-api' });
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload).not.toHaveProperty('nbf');
  });
});

describe('hostile token helpers', () => {
  const jwks = useJwksServer();
  const claims: JWTPayload = { sub: 'mallory', aud: 'orders-api' };

  test('unsigned builds an alg none token that a JWKS verifier refuses', async () => {
    const token = unsigned(claims);
    expect(token.endsWith('.')).toBe(true);
    expect(decodeProtectedHeader(token).alg).toBe('none');
    await expect(jwtVerify(token, createRemoteJWKSet(new URL(jwks().jwksUri)))).rejects.toThrow();
  });

  test('withClaims keeps the signature, which then no longer matches', async () => {
    const token = withClaims(await jwks().sign(claims), { sub: 'admin' });
    await expect(jwtVerify(token, createRemoteJWKSet(new URL(jwks().jwksUri)))).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  });

  test('hmacWithPublicKey signs HS256 with the public key PEM, as the algorithm-confusion attack does', async () => {
    const { keys } = (await (await fetch(jwks().jwksUri)).json()) as { keys: JWK[] };
    const token = hmacWithPublicKey(keys[0]!, claims);
    const pem = createPublicKey({ key: keys[0] as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    await expect(jwtVerify(token, Buffer.from(pem))).resolves.toBeDefined();
  });
});

describe('demo upstream', () => {
  const upstream = useDemoUpstream();
  const echoingUpstream = useDemoUpstream({ echoBody: true });

  test('it answers 200 with the method, URL and headers it received, and counts the requests', async () => {
    const before = upstream().received;
    const response = await fetch(`${upstream().url}/orders/42?full=1`, { method: 'DELETE', headers: { 'x-user-sub': 'alice' } });
    const echo = (await response.json()) as DemoUpstreamEcho;

    expect(response.status).toBe(200);
    expect(echo).toMatchObject({ method: 'DELETE', url: '/orders/42?full=1', headers: { 'x-user-sub': 'alice' } });
    expect(echo).not.toHaveProperty('body');
    expect(upstream().received - before).toBe(1);
  });

  test('with echoBody it also returns the request body', async () => {
    const response = await fetch(echoingUpstream().url, { method: 'POST', body: '{"item":"book"}' });
    expect(await response.json()).toMatchObject({ method: 'POST', body: '{"item":"book"}' });
  });
});
