import { describe, expect, test } from 'vitest';
import { otlpTracesProtocol } from '../../src/observability/tracing/otlp-protocol.js';
import { endpointForLog } from '../../src/observability/tracing/tracing.js';

describe('otlpTracesProtocol reads the protocol as the specification says', () => {
  test('http/protobuf by default, also for empty or blank values', () => {
    expect(otlpTracesProtocol({})).toEqual({ protocol: 'http/protobuf' });
    expect(otlpTracesProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: ' ', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: '' })).toEqual({ protocol: 'http/protobuf' });
  });

  test('the traces variable wins over the general one', () => {
    expect(otlpTracesProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toEqual({ protocol: 'http/json' });
    expect(otlpTracesProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: ' grpc ' })).toEqual({ protocol: 'grpc' });
  });

  test('an unknown protocol falls back to http/protobuf and names the variable and value', () => {
    expect(otlpTracesProtocol({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'HTTP/JSON', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toEqual({
      protocol: 'http/protobuf',
      unsupported: { variable: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', value: 'HTTP/JSON' },
    });
  });
});

describe('endpointForLog', () => {
  test('keeps scheme, host, port and path; never user, password or query', () => {
    expect(endpointForLog('http://127.0.0.1:4318')).toBe('http://127.0.0.1:4318/');
    expect(endpointForLog('https://otel.example:4318/v1/traces')).toBe('https://otel.example:4318/v1/traces');
    expect(endpointForLog('https://user:pa55@otel.example/x?key=abc#f')).toBe('https://[redacted]@otel.example/x');
    expect(endpointForLog('https://:pa55@otel.example')).toBe('https://[redacted]@otel.example/');
    expect(endpointForLog('not a url with pa55')).toBe('[not a URL]');
  });
});
