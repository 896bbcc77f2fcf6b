import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, test } from 'vitest';
import { AuthFailure } from '../../src/auth/errors.js';
import type { VerifiedToken } from '../../src/auth/verified-token.js';
import type { ValidationRecord } from '../../src/server/gate/ports.js';
import { recordOfValidationSpan, validationAttributes, validationSpanRecord } from '../../src/observability/tracing/span-record.js';

const ids = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', parentSpanId: 'b7ad6b7169203331', traceState: 'vendor=1' };

const token = {
  issuer: 'https://idp.example',
  clientId: 'orders-service',
  grantType: 'client_credentials',
  scopes: new Set(['read:orders']),
  key: { kid: 'k1' },
} as unknown as VerifiedToken;

/** The record of a successful validation (a cache hit on the orders route), with `overrides`. */
function validation(overrides: Partial<ValidationRecord> = {}): ValidationRecord {
  return {
    request: { method: 'GET', target: '/api/orders/1', authorization: [] },
    route: { index: 0, pattern: '/api/orders/**', public: false, deny: false, scopes: ['read:orders'], scopeChallenge: 'read:orders', enforcement: 'enforce' },
    token,
    failure: undefined,
    issuer: 'https://idp.example',
    kid: 'k1',
    cache: 'hit',
    status: 200,
    letThrough: false,
    seconds: 0.0004,
    trace: undefined,
    ...overrides,
  };
}

const success = validation();

describe('a validation span crosses to the export worker as a flat record', () => {
  test('the worker rebuilds the same ids, times, attributes and status as the request thread would have set', () => {
    const record = recordOfValidationSpan(validationSpanRecord(ids, 1000.5, 1001.25, success));
    expect(record).toEqual({
      scope: 'tokenwatch',
      name: 'token.validate',
      kind: SpanKind.INTERNAL,
      ...ids,
      parentRemote: true,
      startTime: 1000.5,
      endTime: 1001.25,
      attributes: validationAttributes(success),
      statusCode: SpanStatusCode.UNSET,
      statusMessage: undefined,
    });
    expect(record.attributes).toEqual({
      'oauth.validation.result': 'success',
      'tokenwatch.route': '/api/orders/**',
      'tokenwatch.enforcement': 'enforce',
      'tokenwatch.cache': 'hit',
      'oauth.issuer': 'https://idp.example',
      'oauth.client_id': 'orders-service',
      'oauth.grant_type': 'client_credentials',
      'oauth.scopes': ['read:orders'],
      'jwt.kid': 'k1',
    });
  });

  test('a failure has error status with its reason, says whether it was let through, and leaves absent facts out', () => {
    const failure = validation({ failure: new AuthFailure('expired', 'token has expired'), token: undefined, issuer: undefined, kid: undefined, cache: undefined, letThrough: true });
    const record = recordOfValidationSpan(validationSpanRecord({ ...ids, parentSpanId: undefined, traceState: undefined }, 1, 2, failure));
    expect(record.parentRemote).toBe(false);
    expect(record.statusCode).toBe(SpanStatusCode.ERROR);
    expect(record.statusMessage).toBe('expired');
    expect(record.attributes).toEqual({
      'oauth.validation.result': 'failure',
      'tokenwatch.route': '/api/orders/**',
      'tokenwatch.enforcement': 'enforce',
      'oauth.failure.reason': 'expired',
      'tokenwatch.let_through': true,
    });
  });
});
