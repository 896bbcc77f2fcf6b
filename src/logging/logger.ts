import { pino, type Logger } from 'pino';
import { LineBatcher, type BatchWriter } from './line-batcher.js';

export type { Logger };

/**
 * Lines are written in batches of about this many bytes, and at least every FLUSH_INTERVAL_MS. Each write goes
 * through libuv's thread pool, and on a busy core the hand-over costs the event loop two context switches and a
 * wake-up, so fewer, larger writes cost less per line (measured in docs/benchmarks.md). A batch holds at most
 * FLUSH_INTERVAL_MS of lines: the interval flushes a batch that is not full.
 */
const BATCH_BYTES = 256 * 1024;
const FLUSH_INTERVAL_MS = 250;
/**
 * Bound on what waits for a slow stdout (a stalled log collector): past it, lines are dropped rather than held until
 * the pod runs out of memory. 16 MiB is about 50,000 audit lines: most of a minute at a thousand requests a second.
 */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/** The destination of each logger createLogger made. */
const destinations = new WeakMap<Logger, pino.DestinationStream>();

/**
 * JSON lines on stdout. Every validation can write an audit line, so the writer batches lines (one write per 256 KiB,
 * or every 250 ms, instead of one per line) and redaction is limited to exact paths: wildcard paths cost more than
 * the rest of a log line (bench/ telemetry suite). Redaction is the second line of defence only: no code path logs a
 * token, and the test suite checks every line any tokenwatch it ran wrote.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const stream = destination ?? batchedDestination(1);
  const logger = pino(
    {
      level,
      base: { service: 'tokenwatch' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['authorization', 'token', 'access_token', 'headers.authorization', 'req.headers.authorization', 'request.headers.authorization'],
        censor: '[redacted]',
      },
    },
    stream,
  );
  destinations.set(logger, stream);
  return logger;
}

/**
 * Where a logger made by createLogger writes: lines serialised beside pino (the audit log's) are written there, in
 * order with the logger's own. Undefined for any other logger, a child included.
 */
export function destinationOf(logger: Logger): pino.DestinationStream | undefined {
  return destinations.get(logger);
}

/**
 * What the log writer could not write, for /metrics (`log_lines_dropped_total`, `log_write_errors_total`): lines
 * dropped because more than the bound was waiting for stdout, and failed writes (a closed pipe). Process-wide, as
 * stdout is.
 */
export const logWriterStats = { droppedLines: 0, writeErrors: 0 };

/** The batched, asynchronous writer tokenwatch logs through: stdout (fd 1) in production, a file in bench/. */
export function batchedDestination(dest: number | string, maxPendingBytes = MAX_PENDING_BYTES): pino.DestinationStream {
  // The writer writes whatever it is handed at once (minLength 0); LineBatcher makes the batches.
  const writer = pino.destination({ dest, sync: false, minLength: 0, maxLength: maxPendingBytes, contentMode: 'buffer' });
  writer.on('drop', (dropped: Buffer) => (logWriterStats.droppedLines += countLines(dropped)));
  // A stdout that fails (its reader gone) must not take the sidecar down: the write is counted, retried with the
  // next batch, and what piles up meanwhile is dropped at the bound above.
  writer.on('error', () => (logWriterStats.writeErrors += 1));
  // SonicBoom's types only know its string mode; in buffer mode its write takes a Buffer.
  const stream = new LineBatcher(writer as unknown as BatchWriter, BATCH_BYTES);
  setInterval(() => stream.flush(), FLUSH_INTERVAL_MS).unref();
  // Whatever is still buffered is written before the process exits, however it exits.
  process.once('exit', () => {
    try {
      stream.flushSync();
    } catch {
      // Nothing more can be done for a stream that is gone at exit.
    }
  });
  return stream;
}

function countLines(chunk: Buffer): number {
  let lines = 0;
  for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1;
  return lines;
}
