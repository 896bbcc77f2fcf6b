import { parentPort, workerData } from 'node:worker_threads';
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { routeSdkDiagnostics } from '../sdk-diagnostics.js';
import { recordOfValidationSpan, type ShippedRecord, type ValidationSpanRecord } from '../span-record.js';
import { exportResource } from './export-resource.js';
import { countingFailedExports, otlpTraceExporter } from './otlp-trace-exporter.js';
import { ReplayedIds, SpanReplayer } from './span-replay.js';
import type { ExportWorkerData, FromExportWorker, ToExportWorker } from './worker-protocol.js';

/**
 * The export worker: a worker thread that owns the exporting half of tracing (the resource, batching, the OTLP
 * exporter), all configured by the standard OTEL_* variables it was started with. The request thread sends it the
 * records of finished, sampled spans; each is replayed through this thread's tracer provider as a span with its ids,
 * parent and times, and the batch span processor (OTEL_BSP_*) and exporter send it. Serialising spans and the
 * exporter's client then never run on the request thread (docs/decisions/0007-spans-exported-from-a-worker-thread.md).
 */

const port = parentPort;
if (!port) throw new Error('span-export-worker.ts runs as a worker thread (span-shipper.ts starts it)');
const { protocol } = workerData as ExportWorkerData;

routeSdkDiagnostics(process.env);
const exporter = countingFailedExports(await otlpTraceExporter(protocol), (spans) => post({ type: 'dropped', spans }));
const ids = new ReplayedIds();
const provider = new BasicTracerProvider({
  resource: exportResource(),
  // The request thread sampled: everything that arrives here is exported.
  sampler: new AlwaysOnSampler(),
  idGenerator: ids,
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
const replayer = new SpanReplayer(provider, ids);

port.on('message', (message: ToExportWorker) => {
  if (message.type === 'spans') {
    let unreadable = 0;
    for (const shipped of message.spans) {
      try {
        replayer.replay(isValidationSpanRecord(shipped) ? recordOfValidationSpan(shipped) : shipped);
      } catch {
        // A record this thread cannot read, or the SDK cannot take, is one span lost, never the worker.
        unreadable += 1;
      }
    }
    if (unreadable > 0) post({ type: 'dropped', spans: unreadable });
    post({ type: 'taken', spans: message.spans.length });
  } else if (message.type === 'shutdown') {
    // Exports what is still queued, then says so; the request thread ends the worker after that.
    provider.shutdown().then(
      () => post({ type: 'closed' }),
      () => post({ type: 'closed' }),
    );
  }
});

/** Validation spans come as flat arrays (span-record.ts), every other span as a SpanRecord object. */
function isValidationSpanRecord(record: ShippedRecord): record is ValidationSpanRecord {
  return Array.isArray(record);
}

function post(message: FromExportWorker): void {
  port!.postMessage(message);
}

post({ type: 'ready' });
