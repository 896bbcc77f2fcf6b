import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, test } from 'vitest';
import { recordOfValidation, validationAttributes, validationRecord, type ValidationSpanFacts } from '../../src/observability/tracing/span-record.js';
import { validationFacts } from '../support/span-facts.js';

const ids = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', parentSpanId: 'b7ad6b7169203331', traceState: 'vendor=1' };
const success: ValidationSpanFacts = validationFacts();

describe('a validation span crosses to the export worker as a flat record', () => {
  test('the worker rebuilds the same ids, times, attributes and status as the request thread would have set', () => {
    const record = recordOfValidation(validationRecord(ids, 1000.5, 1001.25, success));
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
    const failure: ValidationSpanFacts = { ...success, result: 'failure', reason: 'expired', issuer: undefined, clientId: undefined, grantType: undefined, scopes: undefined, kid: undefined, cache: undefined, letThrough: true };
    const record = recordOfValidation(validationRecord({ ...ids, parentSpanId: undefined, traceState: undefined }, 1, 2, failure));
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
