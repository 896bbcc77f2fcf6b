import { pino, type Logger } from 'pino';

export type { Logger };

/** Lines are written in batches of this many bytes, and at least every FLUSH_INTERVAL_MS. */
const BATCH_BYTES = 8192;
const FLUSH_INTERVAL_MS = 250;

/**
 * JSON lines on stdout. Every validation can write an audit line, so the writer batches lines (one write per 8 KiB,
 * or every 250 ms, instead of one per line) and redaction is limited to exact paths: wildcard paths cost more than
 * the rest of a log line (bench/ telemetry suite). Redaction is the second line of defence only: no code path logs a
 * token, and the test suite checks every line any tokenwatch it ran wrote.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const stream = destination ?? batchedDestination(1);
  return pino(
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
}

/** The batched, asynchronous writer tokenwatch logs through: stdout (fd 1) in production, a file in bench/. */
export function batchedDestination(dest: number | string): pino.DestinationStream {
  const stream = pino.destination({ dest, sync: false, minLength: BATCH_BYTES });
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
