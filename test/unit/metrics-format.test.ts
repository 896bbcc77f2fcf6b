import { describe, expect, test } from 'vitest';
import { preferredMetricsFormat } from '../../src/server/admin/metrics-format.js';

describe('the /metrics format a scraper asks for', () => {
  test('Prometheus 2 gets OpenMetrics', () => {
    const accept = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    expect(preferredMetricsFormat(accept)).toBe('openmetrics');
  });

  test('a scraper that prefers protobuf, then OpenMetrics, gets OpenMetrics', () => {
    const accept = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1';
    expect(preferredMetricsFormat(accept)).toBe('openmetrics');
  });

  test('curl, a browser and a scraper without Accept get the classic text format', () => {
    expect(preferredMetricsFormat('*/*')).toBe('classic');
    expect(preferredMetricsFormat('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe('classic');
    expect(preferredMetricsFormat(undefined)).toBe('classic');
  });

  test('the text format preferred by quality value wins over OpenMetrics', () => {
    expect(preferredMetricsFormat('application/openmetrics-text;version=1.0.0;q=0.2,text/plain;version=0.0.4')).toBe('classic');
  });

  test('an OpenMetrics version we do not write, or a quality of 0, is not OpenMetrics', () => {
    expect(preferredMetricsFormat('application/openmetrics-text;version=2.0.0')).toBe('classic');
    expect(preferredMetricsFormat('application/openmetrics-text;q=0,text/plain;q=0.1')).toBe('classic');
  });
});
