import { parentPort, workerData } from 'node:worker_threads';
import { ROOT_CONTEXT, createTraceState, trace, type Context, type Tracer } from '@opentelemetry/api';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import type { OtlpProtocol } from './otlp-protocol.js';
import { recordOfValidation, type ShippedRecord, type SpanRecord, type ValidationRecord } from './span-record.js';
import type { FromExportWorker, ToExportWorker } from './span-shipper.js';

/**
 * The export worker: a worker thread that owns the OpenTelemetry SDK's exporting half (batch span processor, OTLP
 * exporter, resource detection), all configured by the standard OTEL_* variables it was started with. The
 * request thread sends it the records of finished, sampled spans; each is replayed through this thread's SDK with
 * its ids, parent and times, and exported from here. Serialising spans and the exporter's HTTP client then never run
 * on the request thread (docs/decisions/0007-spans-exported-from-a-worker-thread.md).
 */

export interface ExportWorkerData {
  readonly serviceName: string;
  /** Decided by the request thread from the OTEL_* variables (otlp-protocol.ts), which logs a value it cannot use. */
  readonly protocol: OtlpProtocol;
}

const port = parentPort;
if (!port) throw new Error('span-export-worker.ts runs as a worker thread (span-shipper.ts starts it)');
const { serviceName, protocol } = workerData as ExportWorkerData;

/** Ids come from the record being replayed: the span keeps the ids the request thread gave it and sent upstream. */
const ids = {
  traceId: '',
  spanId: '',
  generateTraceId(): string {
    return this.traceId;
  },
  generateSpanId(): string {
    return this.spanId;
  },
};

const sdk = new NodeSDK({
  serviceName,
  traceExporter: await otlpTraceExporter(protocol),
  // The request thread sampled: everything that arrives here is exported.
  sampler: new tracing.AlwaysOnSampler(),
  idGenerator: ids,
  instrumentations: [],
  // Traces only, as in the request thread (tracing.ts).
  metricReaders: [],
  logRecordProcessors: [],
  contextManager: null as unknown as undefined,
  textMapPropagator: null,
});
sdk.start();

const tracers = new Map<string, Tracer>();

function replay(record: SpanRecord): void {
  ids.traceId = record.traceId;
  ids.spanId = record.spanId;
  let parent: Context = ROOT_CONTEXT;
  if (record.parentSpanId !== undefined) {
    parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: record.traceId,
      spanId: record.parentSpanId,
      traceFlags: 1,
      isRemote: record.parentRemote,
      ...(record.traceState ? { traceState: createTraceState(record.traceState) } : {}),
    });
  }
  let tracer = tracers.get(record.scope);
  if (!tracer) tracers.set(record.scope, (tracer = trace.getTracer(record.scope)));
  const span = tracer.startSpan(record.name, { kind: record.kind, startTime: record.startTime, attributes: record.attributes }, parent);
  if (record.statusCode !== 0) span.setStatus({ code: record.statusCode, ...(record.statusMessage !== undefined ? { message: record.statusMessage } : {}) });
  span.end(record.endTime);
}

port.on('message', (message: ToExportWorker) => {
  if (message.type === 'spans') {
    for (const record of message.spans) {
      try {
        replay(isValidationRecord(record) ? recordOfValidation(record) : record);
      } catch {
        // A record the SDK cannot take is one span lost, never the worker.
      }
    }
    post({ type: 'taken', spans: message.spans.length });
  } else if (message.type === 'shutdown') {
    // Exports what the batch processor still holds, then says so; the request thread ends the worker after that.
    sdk.shutdown().then(
      () => post({ type: 'closed' }),
      () => post({ type: 'closed' }),
    );
  }
});

/**
 * The exporter for `protocol`; only its package is loaded (gRPC's is the largest). Protobuf is also the cheapest to
 * produce: it took this thread about 40% less CPU per span than JSON, and a third of the bytes (bench/ telemetry).
 */
async function otlpTraceExporter(protocol: OtlpProtocol): Promise<tracing.SpanExporter> {
  switch (protocol) {
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
  }
}

/** Validation spans come as flat arrays (span-record.ts), every other span as a SpanRecord object. */
function isValidationRecord(record: ShippedRecord): record is ValidationRecord {
  return Array.isArray(record);
}

function post(message: FromExportWorker): void {
  port!.postMessage(message);
}

post({ type: 'ready' });
