import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import type { tracing } from '@opentelemetry/sdk-node';
import type { OtlpProtocol } from '../otlp-protocol.js';

/**
 * The SDK's OTLP trace exporter for `protocol`: it reads its OTEL_EXPORTER_OTLP_* variables (endpoint, headers,
 * timeout, compression, certificates) and does the serialising, transport, retries and concurrency bound. Protobuf
 * and gRPC are built exactly as @opentelemetry/exporter-trace-otlp-proto and -grpc build their OTLPTraceExporter,
 * from the SDK packages tokenwatch depends on; gRPC's transport (@grpc/grpc-js) is loaded only when it is chosen.
 */
export async function otlpTraceExporter(protocol: OtlpProtocol): Promise<tracing.SpanExporter> {
  if (protocol === 'http/json') return new OtlpJsonTraceExporter();
  if (protocol === 'http/protobuf') {
    const options = convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
    return new OTLPExporterBase(createOtlpHttpExportDelegate(options, ProtobufTraceSerializer, 'otlp_http_span_exporter', TraceExporterMetricsHelper, undefined));
  }
  const { convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate } = await import('@opentelemetry/otlp-grpc-exporter-base');
  return new OTLPExporterBase(
    createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions({}, 'TRACES'),
      ProtobufTraceSerializer,
      'otlp_grpc_span_exporter',
      TraceExporterMetricsHelper,
      undefined,
      'TraceExportService',
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    ),
  );
}

/**
 * `exporter`, reporting the spans of every export it fails (after the retries it makes) to `dropped`: the batch
 * span processor only logs them.
 */
export function countingFailedExports(exporter: tracing.SpanExporter, dropped: (spans: number) => void): tracing.SpanExporter {
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
