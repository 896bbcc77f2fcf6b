import { Worker } from 'node:worker_threads';
import type { Logger } from '../../logging/logger.js';
import type { ExportWorkerData, FromExportWorker, ToExportWorker } from './export/worker-protocol.js';
import type { ShippedRecord } from './span-record.js';

/**
 * Records are sent to the worker in batches, every FLUSH_INTERVAL_MS or at FLUSH_SPANS, whichever comes first. A
 * message wakes the worker thread; one per request would cost the request thread a context switch per span on a
 * busy core. The batch span processor in the worker exports on its own schedule (OTEL_BSP_*) after that.
 */
const FLUSH_INTERVAL_MS = 100;
const FLUSH_SPANS = 256;
/**
 * Bound on spans waiting here or sent and not yet taken by the worker's batch processor: a worker that falls behind
 * (a starved core) costs spans, never the request thread's memory. The worker's processor has its own bound
 * (OTEL_BSP_MAX_QUEUE_SIZE, 2,048 by default) for an exporter that falls behind.
 */
const MAX_PENDING_SPANS = 4096;
const START_TIMEOUT_MS = 10_000;
/** The worker exports its last spans on shutdown; a collector that does not answer must not hold the exit longer. */
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** The worker's heap: its batch queue and an export in flight need a few MB. */
const WORKER_RESOURCE_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 4 };

/** Spans dropped on their way to the export worker, for /metrics (`tracing_spans_dropped_total`). Process-wide. */
export const spanShippingStats = { dropped: 0 };

/**
 * The request thread's side of span export: queues the records of finished spans and hands them to the export
 * worker (span-export-worker.ts). Adding a record is a push onto an array; everything else happens off the request.
 */
export class SpanShipper {
  private queue: ShippedRecord[] = [];
  /** Spans sent to the worker that it has not yet reported as taken. */
  private inFlight = 0;
  private running = true;
  private readonly timer: NodeJS.Timeout;
  private closed: (() => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly logger: Logger,
    private readonly maxPendingSpans: number,
  ) {
    worker.on('message', (message: FromExportWorker) => {
      if (message.type === 'taken') this.inFlight -= message.spans;
      else if (message.type === 'dropped') spanShippingStats.dropped += message.spans;
      else if (message.type === 'closed') this.closed?.();
    });
    worker.on('error', (error: Error) => this.stopped(error.message));
    worker.on('exit', (code) => this.stopped(`exit code ${code}`));
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS).unref();
    // The worker never keeps the process alive: shutdown() ends it, and so does the process's exit.
    worker.unref();
  }

  /** Starts the export worker with `env` as its environment (the OTEL_* variables) and waits until it is ready. */
  static async start(env: NodeJS.ProcessEnv, data: ExportWorkerData, logger: Logger, maxPendingSpans = MAX_PENDING_SPANS): Promise<SpanShipper> {
    const worker = new Worker(exportWorkerUrl(), { env: { ...env }, workerData: data, execArgv: [], resourceLimits: WORKER_RESOURCE_LIMITS });
    await new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => fail(new Error(`the span export worker did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      const ready = (message: FromExportWorker) => {
        if (message.type !== 'ready') return;
        cleanup();
        resolve();
      };
      const fail = (error: Error) => {
        cleanup();
        void worker.terminate();
        reject(error);
      };
      const exited = (code: number) => fail(new Error(`the span export worker exited with code ${code} while starting`));
      const cleanup = () => {
        clearTimeout(timeout);
        worker.off('message', ready).off('error', fail).off('exit', exited);
      };
      worker.on('message', ready).on('error', fail).on('exit', exited);
    });
    return new SpanShipper(worker, logger, maxPendingSpans);
  }

  /** Queues a finished span for export; drops it (counted) when the bound is reached or the worker is gone. */
  add(record: ShippedRecord): void {
    if (!this.running || this.queue.length + this.inFlight >= this.maxPendingSpans) {
      spanShippingStats.dropped += 1;
      return;
    }
    this.queue.push(record);
    if (this.queue.length >= FLUSH_SPANS) this.flush();
  }

  /** Sends what is queued to the worker now. */
  flush(): void {
    if (this.queue.length === 0) return;
    const spans = this.queue;
    this.queue = [];
    if (!this.running) {
      spanShippingStats.dropped += spans.length;
      return;
    }
    try {
      this.post({ type: 'spans', spans });
      this.inFlight += spans.length;
    } catch {
      // A value structured clone cannot copy: those spans are lost, the next batch goes on.
      spanShippingStats.dropped += spans.length;
    }
  }

  /** Sends the last spans, lets the worker export everything it holds (bounded in time), then ends it. */
  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    const wasRunning = this.running;
    // From here on, a span added is dropped and counted: the worker has been sent its last batch.
    this.running = false;
    if (wasRunning) {
      const closed = new Promise<void>((resolve) => (this.closed = resolve));
      this.post({ type: 'shutdown' });
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timeout = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS)))]);
      clearTimeout(timeout);
    }
    await this.worker.terminate();
  }

  private post(message: ToExportWorker): void {
    this.worker.postMessage(message);
  }

  private stopped(reason: string): void {
    if (!this.running) return;
    this.running = false;
    this.closed?.();
    this.logger.warn({ event: 'tracing_export_stopped', reason }, 'the span export worker stopped; spans are dropped from now on');
  }
}

/**
 * The worker's script, next to this module in the build. Run from the TypeScript sources (the test runner loads them
 * through its own transform, which a worker thread does not get), the build's copy is used: `npm test` builds first.
 */
function exportWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('../../../dist/observability/tracing/export/span-export-worker.js', import.meta.url)
    : new URL('./export/span-export-worker.js', import.meta.url);
}
