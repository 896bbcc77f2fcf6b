import { describe, expect, test } from 'vitest';
import { AuthFailure } from '../../src/auth/errors.js';
import { HeaderCache } from '../../src/auth/token-parts.js';

const encode = (header: unknown) => Buffer.from(JSON.stringify(header)).toString('base64url');

describe('HeaderCache', () => {
  test('a header is decoded once and the same frozen object is shared after', () => {
    const cache = new HeaderCache(4);
    const encoded = encode({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' });
    const first = cache.decode(encoded);
    expect(first).toEqual({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' });
    expect(Object.isFrozen(first)).toBe(true);
    expect(cache.decode(encoded)).toBe(first);
  });

  test('bounded: past its capacity, and for overlong headers, headers are decoded each time and not kept', () => {
    const cache = new HeaderCache(2);
    for (let index = 0; index < 100; index += 1) cache.decode(encode({ alg: 'RS256', kid: `k${index}` }));
    expect(cache.size).toBe(2);
    const late = encode({ alg: 'RS256', kid: 'late' });
    expect(cache.decode(late)).toEqual({ alg: 'RS256', kid: 'late' });
    expect(cache.decode(late)).not.toBe(cache.decode(late));
    const roomy = new HeaderCache(10);
    const long = encode({ alg: 'RS256', kid: 'x'.repeat(600) });
    expect(roomy.decode(long)).not.toBe(roomy.decode(long));
    expect(roomy.size).toBe(0);
  });

  test('what is not a JSON object is malformed, and never cached', () => {
    const cache = new HeaderCache(4);
    for (const encoded of [Buffer.from('nope').toString('base64url'), encode([1]), encode('s'), '']) {
      expect(() => cache.decode(encoded)).toThrow(AuthFailure);
    }
    expect(cache.size).toBe(0);
  });
});
