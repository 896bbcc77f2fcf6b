import { describe, expect, test } from 'vitest';
import { AuthFailure } from '../../src/auth/errors.js';
import { extractBearerToken } from '../../src/auth/extract.js';

const extract = (authorization: string[], query?: string, allowQuery = false) => extractBearerToken({ authorization, query }, allowQuery);

function failure(run: () => unknown): AuthFailure {
  try {
    run();
  } catch (error) {
    if (error instanceof AuthFailure) return error;
    throw error;
  }
  throw new Error('expected an AuthFailure');
}

describe('extractBearerToken', () => {
  test('reads Bearer with any case and extra spaces', () => {
    expect(extract(['Bearer abc.def.ghi'])).toBe('abc.def.ghi');
    expect(extract(['bearer   abc'])).toBe('abc');
    expect(extract(['BEARER abc=='])).toBe('abc==');
  });

  test('no header or another scheme means no token', () => {
    expect(extract([])).toBeUndefined();
    expect(extract(['Basic dXNlcjpwYXNz'])).toBeUndefined();
    expect(extract(['Bearerx abc'])).toBeUndefined();
  });

  test('an empty bearer value is a malformed token (401); other characters are left to the verifier', () => {
    expect(failure(() => extract(['Bearer']))).toMatchObject({ reason: 'malformed', status: 401, bearerError: 'invalid_token' });
    expect(failure(() => extract(['Bearer    ']))).toMatchObject({ reason: 'malformed', status: 401 });
    expect(extract(['Bearer a b'])).toBe('a b');
  });

  test('two Authorization headers are invalid_request (400)', () => {
    expect(failure(() => extract(['Bearer a', 'Bearer a']))).toMatchObject({ status: 400, bearerError: 'invalid_request' });
  });

  test('a token in the header and the query is invalid_request, encoded names included', () => {
    expect(failure(() => extract(['Bearer a'], 'access_token=a', true))).toMatchObject({ status: 400 });
    expect(failure(() => extract(['Bearer a'], 'access%5Ftoken=a', true))).toMatchObject({ status: 400 });
    expect(failure(() => extract([], 'access_token=a&access_token=b', true))).toMatchObject({ status: 400 });
  });

  test('a query token is used only when allowed', () => {
    expect(failure(() => extract([], 'access_token=a'))).toMatchObject({ status: 400 });
    expect(extract([], 'x=1&access_token=abc', true)).toBe('abc');
    expect(extract([], 'x=1')).toBeUndefined();
  });
});
