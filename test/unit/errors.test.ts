import { describe, expect, test } from 'vitest';
import { AuthFailure } from '../../src/auth/errors.js';
import { IdpFetchError } from '../../src/auth/idp-fetch.js';
import { FAILURE_REASONS } from '../../src/auth/reasons.js';
import { AlertmanagerError } from '../../src/alerting/errors.js';
import { TokenDecodeError } from '../../src/cli/decode-token.js';
import { ConfigError } from '../../src/config/load.js';
import { TokenwatchError } from '../../src/errors.js';
import { IdpEventsError } from '../../src/idp-events/errors.js';
import { ExchangeFailure } from '../../src/platform/http-exchange.js';
import { PathRejected } from '../../src/policy/normalize.js';
import { BodyTooLarge } from '../../src/server/proxy/body.js';

describe('one error model', () => {
  test('every exported error is a TokenwatchError and an Error with a stable ERR_ code', () => {
    const errors: TokenwatchError[] = [
      new ConfigError('config.yaml', [{ path: 'mode', message: 'expected proxy, authz or events' }]),
      new IdpFetchError('timeout', 'no answer within 5s'),
      new IdpEventsError('ERR_IDP_EVENTS_READ', '/var/log/idp.log', 'cannot open'),
      new PathRejected('traversal'),
      new BodyTooLarge('over limits.bodyBytes'),
      new TokenDecodeError('not three parts'),
      new ExchangeFailure('timeout', undefined),
      new AlertmanagerError('ERR_ALERTMANAGER_NETWORK', 'http://127.0.0.1:9093', 'refused'),
    ];
    for (const error of errors) {
      expect(error, error.name).toBeInstanceOf(TokenwatchError);
      expect(error, error.name).toBeInstanceOf(Error);
      expect(error.code, error.name).toMatch(/^ERR_[A-Z_]+$/);
    }
  });

  test('an exchange failure says its kind in its code', () => {
    expect(new ExchangeFailure('timeout', undefined).code).toBe('ERR_EXCHANGE_TIMEOUT');
    expect(new ExchangeFailure('network', 'ECONNREFUSED').code).toBe('ERR_EXCHANGE_NETWORK');
    expect(new ExchangeFailure('too-large', undefined).code).toBe('ERR_EXCHANGE_TOO_LARGE');
  });

  test('an IdP fetch error says its result class in its code', () => {
    expect(new IdpFetchError('error', 'HTTP 500').code).toBe('ERR_IDP_FETCH_ERROR');
    expect(new IdpFetchError('timeout', 'deadline').code).toBe('ERR_IDP_FETCH_TIMEOUT');
    expect(new IdpFetchError('invalid', 'bad JSON').code).toBe('ERR_IDP_FETCH_INVALID');
  });

  test('an auth failure is a TokenwatchError whose code names its reason, without a stack trace', () => {
    for (const reason of FAILURE_REASONS) {
      const failure = new AuthFailure(reason, 'refused');
      expect(failure).toBeInstanceOf(TokenwatchError);
      expect(failure).toBeInstanceOf(Error);
      expect(failure.code).toBe(`ERR_AUTH_${reason.toUpperCase()}`);
      expect(failure.stack).toBeUndefined();
    }
  });
});
