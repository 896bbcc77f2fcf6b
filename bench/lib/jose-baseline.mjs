import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { importJWK, jwtVerify } from 'jose';
import { SERVER_CORE, runPinned } from './children.mjs';

/**
 * The ceiling for cache misses: bare `jose` `jwtVerify` (signature, iss, aud, exp) over the bench's distinct
 * tokens, with the key imported once, on the server core and nothing else. `concurrency` verifications are kept
 * in flight, as a server with that many busy connections would.
 *
 * With `verifier: 'node-crypto'` the same checks run by hand around a synchronous `crypto.verify` on a KeyObject:
 * what verification costs without WebCrypto's promise and thread-pool hop (jose 6 only uses WebCrypto).
 *
 * As a script (the bench runs it as a pinned child): node jose-baseline.mjs '<spec JSON>' prints `RESULT {...}`.
 */

const SLACK_MS = 30_000;

/** Runs the loop pinned to the server core; resolves with `{ verificationsPerSecond, verifications }`. */
export async function runJoseBaseline({ verifier = 'jose', tokensFile, jwk, issuer, audience, warmupMs, durationMs, concurrency }) {
  const spec = { verifier, tokensFile, jwk, issuer, audience, warmupMs, durationMs, concurrency };
  const stdout = await runPinned(SERVER_CORE, process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(spec)], {
    timeoutMs: warmupMs + durationMs + SLACK_MS,
  });
  const line = stdout.split('\n').find((text) => text.startsWith('RESULT '));
  if (!line) throw new Error(`jose baseline printed no RESULT line:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}

async function joseVerifier(spec) {
  const key = await importJWK(spec.jwk, 'RS256');
  const options = { issuer: spec.issuer, audience: spec.audience, algorithms: ['RS256'] };
  return (token) => jwtVerify(token, key, options);
}

function nodeCryptoVerifier(spec) {
  const key = createPublicKey({ key: spec.jwk, format: 'jwk' });
  const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  return async (token) => {
    const [header, payload, signature] = token.split('.');
    if (decode(header).alg !== 'RS256') throw new Error('alg');
    const claims = decode(payload);
    const input = Buffer.from(token.slice(0, header.length + 1 + payload.length));
    if (!verify('sha256', input, key, Buffer.from(signature, 'base64url'))) throw new Error('signature');
    if (claims.iss !== spec.issuer || claims.aud !== spec.audience || claims.exp <= Date.now() / 1000) throw new Error('claims');
  };
}

async function verifyLoop(spec) {
  const tokens = readFileSync(spec.tokensFile, 'utf8').split('\n').filter(Boolean);
  const verifyToken = spec.verifier === 'node-crypto' ? nodeCryptoVerifier(spec) : await joseVerifier(spec);
  let next = 0;
  let verifications = 0;
  let stopAt = 0;

  async function worker() {
    while (performance.now() < stopAt) {
      await verifyToken(tokens[next++ % tokens.length]);
      verifications += 1;
    }
  }
  const phase = async (ms) => {
    verifications = 0;
    const started = performance.now();
    stopAt = started + ms;
    await Promise.all(Array.from({ length: spec.concurrency }, worker));
    return { verifications, seconds: (performance.now() - started) / 1000 };
  };

  await phase(spec.warmupMs);
  const { verifications: measured, seconds } = await phase(spec.durationMs);
  return { verifications: measured, verificationsPerSecond: measured / seconds };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await verifyLoop(JSON.parse(process.argv[2]));
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}
