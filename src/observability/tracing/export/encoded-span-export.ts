import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { IOtlpExportDelegate } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, type IExporterMetricsHelper, type ISerializer } from '@opentelemetry/otlp-transformer';
import type { OtlpSpanEncoder } from './otlp-span-encoding.js';
import type { SpanRecord } from '../span-record.js';

/**
 * Export of span records encoded by OtlpSpanEncoder, over OTLP/HTTP protobuf or gRPC, through the SDK's own export
 * delegates: they read the exporter's OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout, compression,
 * certificates) and do the transport, retries and concurrency bound, exactly as the SDK's protobuf and gRPC trace
 * exporters, whose serialiser is the only part replaced. Batching follows the batch span processor's variables.
 */

export type EncodedProtocol = 'http/protobuf' | 'grpc';

export interface BatchSettings {
  /** OTEL_BSP_MAX_QUEUE_SIZE: spans waiting for an export; more are dropped. */
  readonly maxQueueSize: number;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE: spans per export request. */
  readonly maxExportBatchSize: number;
  /** OTEL_BSP_SCHEDULE_DELAY: the longest a span waits for a full batch. */
  readonly scheduledDelayMillis: number;
}

/** The batch span processor's settings from the same variables and defaults (createBatchSpanProcessorFromEnv). */
export function batchSettingsFromEnv(env: NodeJS.ProcessEnv): BatchSettings {
  const read = (name: string, fallback: number) => {
    const raw = env[name];
    const value = raw === undefined || raw.trim() === '' ? Number.NaN : Number(raw);
    return Number.isFinite(value) && value >= 0 ? value : fallback;
  };
  const maxQueueSize = Math.max(1, read('OTEL_BSP_MAX_QUEUE_SIZE', 2048));
  return {
    maxQueueSize,
    // As the SDK's processor: a batch larger than the queue is capped to it.
    maxExportBatchSize: Math.max(1, Math.min(read('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512), maxQueueSize)),
    scheduledDelayMillis: read('OTEL_BSP_SCHEDULE_DELAY', 5000),
  };
}

const SPAN_COUNT: IExporterMetricsHelper<readonly SpanRecord[]> = { name: 'span', countItems: (records) => records.length };

function exportDelegate(protocol: EncodedProtocol, encoder: OtlpSpanEncoder, grpc: GrpcDelegateFactory | undefined): IOtlpExportDelegate<readonly SpanRecord[]> {
  const serializer: ISerializer<readonly SpanRecord[], unknown> = {
    serializeRequest: (records) => encoder.request(records),
    deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
  };
  if (protocol === 'grpc') return grpc!(serializer);
  const options = convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
  return createOtlpHttpExportDelegate(options, serializer, 'otlp_http_span_exporter', SPAN_COUNT, undefined);
}

type GrpcDelegateFactory = (serializer: ISerializer<readonly SpanRecord[], unknown>) => IOtlpExportDelegate<readonly SpanRecord[]>;

/** gRPC's delegate, from its own package: loaded only when gRPC is the protocol (it brings @grpc/grpc-js). */
async function grpcDelegateFactory(): Promise<GrpcDelegateFactory> {
  const { convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate } = await import('@opentelemetry/otlp-grpc-exporter-base');
  return (serializer) =>
    createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions({}, 'TRACES'),
      serializer,
      'otlp_grpc_span_exporter',
      SPAN_COUNT,
      undefined,
      'TraceExportService',
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    );
}

/**
 * Queues span records and exports them in batches: when a batch is full, else after the scheduled delay. Exports
 * under way are bounded by the delegate (its concurrency limit fails an export past it). Records beyond the queue
 * bound, and those of a failed export (the delegate has retried what can be retried), are reported to `dropped`.
 */
export class EncodedSpanExporter {
  private queue: SpanRecord[] = [];
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly delegate: IOtlpExportDelegate<readonly SpanRecord[]>,
    private readonly settings: BatchSettings,
    private readonly dropped: (spans: number) => void,
  ) {}

  static async create(protocol: EncodedProtocol, encoder: OtlpSpanEncoder, settings: BatchSettings, dropped: (spans: number) => void): Promise<EncodedSpanExporter> {
    const grpc = protocol === 'grpc' ? await grpcDelegateFactory() : undefined;
    return new EncodedSpanExporter(exportDelegate(protocol, encoder, grpc), settings, dropped);
  }

  /** Queues records; each full batch is handed to the exporter at once, the rest waits for the scheduled delay. */
  add(records: readonly SpanRecord[]): void {
    for (const record of records) {
      if (this.queue.length >= this.settings.maxQueueSize) {
        this.dropped(1);
        continue;
      }
      this.queue.push(record);
      if (this.queue.length >= this.settings.maxExportBatchSize) this.exportBatch();
    }
    if (this.queue.length > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.settings.scheduledDelayMillis);
      // Shutdown exports what waits; the timer alone never keeps the worker alive.
      this.timer.unref();
    }
  }

  /** Exports everything queued now. */
  flush(): void {
    while (this.queue.length > 0) this.exportBatch();
  }

  /** Exports what is queued and waits for every export under way, then closes the transport. */
  async shutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
    await this.delegate.forceFlush();
    await this.delegate.shutdown();
  }

  private exportBatch(): void {
    const batch = this.queue.length <= this.settings.maxExportBatchSize ? this.queue : this.queue.slice(0, this.settings.maxExportBatchSize);
    this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
    try {
      this.delegate.export(batch, (result: ExportResult) => {
        if (result.code !== ExportResultCode.SUCCESS) this.dropped(batch.length);
      });
    } catch {
      // A record the encoder cannot write (none of tokenwatch's should be) loses its batch, never the worker.
      this.dropped(batch.length);
    }
  }
}
