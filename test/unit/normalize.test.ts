import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { PathRejected, normalizePath, parseRequestTarget } from '../../src/policy/normalize.js';

describe('normalizePath', () => {
  test.each([
    ['/', '/'],
    ['/api/orders', '/api/orders'],
    ['/api/orders/', '/api/orders/'],
    ['//api//orders', '/api/orders'],
    ['/public/../api/orders', '/api/orders'],
    ['/api/./orders/.', '/api/orders/'],
    ['/api/%2e%2e/admin', '/admin'],
    ['/api/%2E/x', '/api/x'],
    ['/%7euser/%41bc', '/~user/Abc'],
    ['/a%20b', '/a%20b'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a/b/..', '/a/'],
  ])('%s → %s', (raw, normalized) => {
    expect(normalizePath(raw)).toBe(normalized);
  });

  test.each([
    ['/api%2Forders', 'encoded slash'],
    ['/api%2forders', 'encoded slash'],
    ['/api%5Corders', 'encoded backslash'],
    ['/api%00', 'NUL'],
    ['/api\\orders', 'raw backslash'],
    ['/..', 'above the root'],
    ['/a/../../etc/passwd', 'above the root'],
    ['/%2e%2e/etc', 'encoded dot segment above the root'],
    ['/%c0%ae%c0%ae/admin', 'overlong UTF-8 dots'],
    ['/%ff', 'invalid UTF-8'],
    ['/a%2', 'truncated percent-encoding'],
    ['/a%zz', 'bad hex'],
    ['/public/..;/api/orders', 'dot segment with parameters'],
    ['/a b', 'space'],
    ['api/orders', 'relative'],
    ['http://evil/api', 'absolute-form'],
  ])('%s is refused (%s)', (raw) => {
    expect(() => normalizePath(raw)).toThrow(PathRejected);
  });

  test('splits the query off the target', () => {
    expect(parseRequestTarget('//a/./b?x=1&y=%2F')).toEqual({ path: '/a/b', query: 'x=1&y=%2F' });
  });

  test('is idempotent and never yields dot segments, repeated slashes or encoded unreserved characters', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'B', '.', '..', '', '%2e', '%2E%2e', '%41', '%7E', 'x%20y', '%C3%A9'), { maxLength: 8 }), (parts) => {
        let normalized: string;
        try {
          normalized = normalizePath(`/${parts.join('/')}`);
        } catch (error) {
          expect(error).toBeInstanceOf(PathRejected);
          return;
        }
        expect(normalizePath(normalized)).toBe(normalized);
        expect(normalized).not.toMatch(/\/\.\.?(\/|$)|\/\/|%(2[eE]|4[1-9A-Fa-f]|7[eE])/);
      }),
    );
  });
});
