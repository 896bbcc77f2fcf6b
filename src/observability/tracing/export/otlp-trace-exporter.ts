import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { OtlpProtocol } from '../otlp-protocol.js';

/**
 * The SDK's OTLP trace exporter for `protocol`: it reads its OTEL_EXPORTER_OTLP_* variables (endpoint, headers,
 * timeout, compression, certificates) and does the serialising, transport, retries and concurrency bound. The
 * protobuf and gRPC exporters are loaded only when chosen (gRPC brings @grpc/grpc-js).
 */
export async function otlpTraceExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  if (protocol === 'http/json') return new OtlpJsonTraceExporter();
  if (protocol === 'http/protobuf') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    return new OTLPTraceExporter();
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
  return new OTLPTraceExporter();
}

/**
 * `exporter`, reporting the spans of every export it fails (after the retries it makes) to `dropped`: the batch
 * span processor only logs them.
 */
export function countingFailedExports(exporter: SpanExporter, dropped: (spans: number) => void): SpanExporter {
  return {
    export(spans, resultCallback) {
      exporter.export(spans, (result: ExportResult) => {
        if (result.code !== ExportResultCode.SUCCESS) dropped(spans.length);
        resultCallback(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
