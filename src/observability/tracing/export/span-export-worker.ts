import { parentPort, workerData } from 'node:worker_threads';
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { EncodedSpanExporter, batchSettingsFromEnv } from './encoded-span-export.js';
import { OtlpSpanEncoder, spanAttributeLimitsFromEnv, type ResourceLike } from './otlp-span-encoding.js';
import type { OtlpProtocol } from '../otlp-protocol.js';
import { recordOfValidation, type ShippedRecord, type SpanRecord, type ValidationRecord } from '../span-record.js';
import { SpanReplayer } from './span-replay.js';
import type { FromExportWorker, ToExportWorker } from '../span-shipper.js';

/**
 * The export worker: a worker thread that owns the exporting half of tracing (resource detection, batching, the OTLP
 * exporter), all configured by the standard OTEL_* variables it was started with. The request thread sends it the
 * records of finished, sampled spans. Serialising spans and the exporter's client then never run on the request
 * thread (docs/decisions/0007-spans-exported-from-a-worker-thread.md).
 *
 * In protobuf and gRPC, the records are encoded as they are (otlp-span-encoding.ts) and sent through the SDK's
 * export delegates (encoded-span-export.ts); this thread's SDK only detects the resource. In JSON, each record is
 * replayed through the SDK as a span with its ids, parent and times, and the SDK's batch processor and exporter
 * send it.
 */

export interface ExportWorkerData {
  readonly serviceName: string;
  /** Decided by the request thread from the OTEL_* variables (otlp-protocol.ts), which logs a value it cannot use. */
  readonly protocol: OtlpProtocol;
}

const port = parentPort;
if (!port) throw new Error('span-export-worker.ts runs as a worker thread (span-shipper.ts starts it)');
const { serviceName, protocol } = workerData as ExportWorkerData;

const replayer = new SpanReplayer();

/** Sees the first span this thread's SDK starts, to read the resource the SDK detected and merged. */
let probed: ((resource: ResourceLike) => void) | undefined;
const resourceProbe: tracing.SpanProcessor = {
  onStart: (span) => probed?.((span as unknown as tracing.ReadableSpan).resource),
  onEnd: () => {},
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

const encoded = protocol === 'http/protobuf' || protocol === 'grpc';

const sdk = new NodeSDK({
  serviceName,
  // JSON: the SDK's own exporter and batch processor, for the replayed spans.
  ...(encoded ? { spanProcessors: [resourceProbe] } : { traceExporter: new OTLPTraceExporter() }),
  // The request thread sampled: everything that arrives here is exported.
  sampler: new tracing.AlwaysOnSampler(),
  idGenerator: replayer.idGenerator,
  instrumentations: [],
  // Traces only, as in the request thread (tracing.ts).
  metricReaders: [],
  logRecordProcessors: [],
  contextManager: null as unknown as undefined,
  textMapPropagator: null,
});
sdk.start();

/** The encoded path's exporter; undefined in JSON, where every record is replayed. */
const exporter = encoded ? await startEncodedExport() : undefined;

async function startEncodedExport(): Promise<EncodedSpanExporter> {
  // The probe span is never ended, so never exported; its ids are only there to be valid.
  replayer.idGenerator.traceId = '00000000000000000000000000000001';
  replayer.idGenerator.spanId = '0000000000000001';
  const resource = await new Promise<ResourceLike>((resolve) => {
    probed = resolve;
    trace.getTracer('tokenwatch').startSpan('resource probe');
  });
  probed = undefined;
  const pending = resource as ResourceLike & { asyncAttributesPending?: boolean; waitForAsyncAttributes?: () => Promise<void> };
  if (pending.asyncAttributesPending) await pending.waitForAsyncAttributes?.();
  const encoder = new OtlpSpanEncoder(resource, spanAttributeLimitsFromEnv(process.env));
  return EncodedSpanExporter.create(protocol as 'http/protobuf' | 'grpc', encoder, batchSettingsFromEnv(process.env), (spans) => post({ type: 'dropped', spans }));
}

port.on('message', (message: ToExportWorker) => {
  if (message.type === 'spans') {
    const records: SpanRecord[] = [];
    let unreadable = 0;
    for (const shipped of message.spans) {
      try {
        records.push(isValidationRecord(shipped) ? recordOfValidation(shipped) : shipped);
      } catch {
        // A record this thread cannot read is one span lost, never the worker.
        unreadable += 1;
      }
    }
    if (unreadable > 0) post({ type: 'dropped', spans: unreadable });
    if (exporter) {
      exporter.add(records);
    } else {
      for (const record of records) {
        try {
          replayer.replay(record);
        } catch {
          // A record the SDK cannot take is one span lost, never the worker.
        }
      }
    }
    post({ type: 'taken', spans: message.spans.length });
  } else if (message.type === 'shutdown') {
    // Exports what is still queued, then says so; the request thread ends the worker after that.
    Promise.all([exporter?.shutdown(), sdk.shutdown()]).then(
      () => post({ type: 'closed' }),
      () => post({ type: 'closed' }),
    );
  }
});

/** Validation spans come as flat arrays (span-record.ts), every other span as a SpanRecord object. */
function isValidationRecord(record: ShippedRecord): record is ValidationRecord {
  return Array.isArray(record);
}

function post(message: FromExportWorker): void {
  port!.postMessage(message);
}

post({ type: 'ready' });
