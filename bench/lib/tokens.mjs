import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';

/**
 * The bench's identity provider: one RS256 key, a loopback JWKS server publishing it, and token files that the
 * load generators rotate through (one token per line, without the `Bearer ` prefix).
 */

export const AUDIENCE = 'orders-api';
export const SCOPE = 'read:orders';
const KID = 'bench-rs256';
const LIFETIME_SECONDS = 3600;

export function createRs256Key() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid: KID, privateKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' } };
}

/**
 * Serves `{ keys: [publicJwk] }` at /jwks on 127.0.0.1 (an ephemeral port); the issuer is its base URL. With
 * `tls` (`{ key, cert }`, PEM) it serves https, for clients that refuse a plain-http JWKS URL.
 */
export async function startJwksServer(publicJwk, { tls } = {}) {
  const body = JSON.stringify({ keys: [publicJwk] });
  const handler = (request, response) => {
    if (request.url !== '/jwks') return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'application/json' }).end(body);
  };
  const server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * `count` distinct RFC 9068-shaped access tokens (distinct sub and jti), signed in parallel on the thread pool:
 * RS256 signing costs ~0.3 ms of CPU each, verification is what the bench measures.
 */
export async function signTokens(key, issuer, count) {
  const header = b64url({ alg: 'RS256', typ: 'at+jwt', kid: key.kid });
  const iat = Math.floor(Date.now() / 1000);
  const tokens = new Array(count);
  const BATCH = 256;
  for (let start = 0; start < count; start += BATCH) {
    const batch = [];
    for (let index = start; index < Math.min(count, start + BATCH); index += 1) {
      const claims = {
        iss: issuer,
        sub: `user-${index}`,
        aud: AUDIENCE,
        client_id: `bench-client-${index % 50}`,
        scope: `${SCOPE} write:orders`,
        iat,
        exp: iat + LIFETIME_SECONDS,
        jti: `bench-${index}-${iat}`,
      };
      const signingInput = `${header}.${b64url(claims)}`;
      batch.push(
        new Promise((resolve, reject) =>
          sign('sha256', Buffer.from(signingInput), key.privateKey, (error, signature) => {
            if (error) reject(error);
            else resolve((tokens[index] = `${signingInput}.${signature.toString('base64url')}`));
          }),
        ),
      );
    }
    await Promise.all(batch);
  }
  return tokens;
}

/**
 * The same token with one character in the middle of its signature changed: still well-formed, so the verifier
 * runs the full RSA check before refusing it. The middle avoids the last character, whose low bits are padding.
 */
export function tamperSignature(token) {
  const dot = token.lastIndexOf('.');
  const at = dot + 1 + Math.floor((token.length - dot - 1) / 2);
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
}

/** Writes one token per line to `dir/name` and returns the path. */
export async function writeTokenFile(dir, name, tokens) {
  const path = join(dir, name);
  await writeFile(path, `${tokens.join('\n')}\n`);
  return path;
}
