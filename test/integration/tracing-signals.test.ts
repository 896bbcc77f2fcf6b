import { expect, test } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { startTracing } from '../../src/observability/tracing/tracing.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';

// A file of its own: whatever registers the process-wide meter and logger providers can do so once per process.
test('only traces are exported: no OTLP metrics or logs, whatever else in the process uses those APIs', async () => {
  const receiver = await startOtlpReceiver();
  try {
    // The SDK reads its exporters' settings from process.env itself, as in production.
    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    const tracing = await startTracing(process.env, createLogger('silent'));
    const { metrics, trace } = await import('@opentelemetry/api');
    const { logs } = await import('@opentelemetry/api-logs');
    metrics.getMeter('a-library').createCounter('things_total').add(1);
    logs.getLogger('a-library').emit({ body: 'a log record' });
    trace.getTracer('a-library').startSpan('a span').end();
    // Shutting down flushes whatever the span processor, a metric reader or a log processor still holds.
    await tracing!.shutdown();
    expect(receiver.paths).toEqual(['/v1/traces']);
  } finally {
    await receiver.stop();
  }
});
