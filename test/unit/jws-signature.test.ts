import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import type { JsonWebKey } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { SUPPORTED_ALGORITHMS } from '../../src/config/algorithms.js';
import { JwsVerifier } from '../../src/auth/jws-signature.js';

async function signed(alg: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jws = await new CompactSign(new TextEncoder().encode('{"sub":"u"}')).setProtectedHeader({ alg }).sign(privateKey);
  const lastDot = jws.lastIndexOf('.');
  return {
    verifier: new JwsVerifier(alg as (typeof SUPPORTED_ALGORITHMS)[number], (await exportJWK(publicKey)) as JsonWebKey),
    input: jws.slice(0, lastDot),
    signature: Buffer.from(jws.slice(lastDot + 1), 'base64url'),
  };
}

describe('JwsVerifier (node:crypto) agrees with jose signatures', () => {
  test.each(SUPPORTED_ALGORITHMS)('%s: a jose signature verifies; any change to input or signature does not', async (alg) => {
    const { verifier, input, signature } = await signed(alg);
    expect(verifier.verify(input, signature)).toBe(true);
    expect(verifier.verify(`${input}x`, signature)).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[flipped.length >> 1]! ^= 1;
    expect(verifier.verify(input, flipped)).toBe(false);
    expect(verifier.verify(input, signature.subarray(1))).toBe(false);
    expect(verifier.verify(input, Buffer.concat([signature, Buffer.of(0)]))).toBe(false);
    expect(verifier.verify(input, Buffer.alloc(0))).toBe(false);
  });

  test.each(['ES256', 'ES384', 'ES512'] as const)('%s: r = s = 0 never verifies', async (alg) => {
    const { verifier, input, signature } = await signed(alg);
    expect(verifier.verify(input, Buffer.alloc(signature.length))).toBe(false);
  });

  test('a signature made for another algorithm with the same key does not verify (RS256 vs PS256)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('PS256', { extractable: true });
    const jws = await new CompactSign(new TextEncoder().encode('{}')).setProtectedHeader({ alg: 'PS256' }).sign(privateKey);
    const lastDot = jws.lastIndexOf('.');
    const asRs256 = new JwsVerifier('RS256', (await exportJWK(publicKey)) as JsonWebKey);
    expect(asRs256.verify(jws.slice(0, lastDot), Buffer.from(jws.slice(lastDot + 1), 'base64url'))).toBe(false);
  });
});
