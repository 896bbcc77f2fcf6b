import type { DestinationStream } from 'pino';

/** What LineBatcher needs of the writer behind it (pino's SonicBoom destination, in buffer mode). */
export interface BatchWriter {
  write(chunk: Buffer): boolean;
  flushSync(): void;
}

/** UTF-8 takes at most three bytes per UTF-16 code unit: a line of `n` code units needs at most `3n` bytes. */
const MAX_UTF8_BYTES_PER_UNIT = 3;

/**
 * Collects log lines into one UTF-8 buffer per batch and hands each full batch to the writer. Each line is encoded
 * straight into the batch buffer: SonicBoom, given strings, measures the UTF-8 length of its whole pending buffer on
 * every write and encodes it again to write it, which per line cost more than building the audit line itself (bench/
 * telemetry suite profiles); in buffer mode it only queues what it is given. Lines keep their order: every line of
 * the logger goes through here.
 */
export class LineBatcher implements DestinationStream {
  private batch: Buffer;
  private used = 0;

  constructor(
    private readonly writer: BatchWriter,
    /** Bytes of a batch. */
    private readonly batchBytes: number,
  ) {
    this.batch = Buffer.allocUnsafe(batchBytes);
  }

  write(line: string): boolean {
    const worstCase = line.length * MAX_UTF8_BYTES_PER_UNIT;
    if (worstCase > this.batchBytes - this.used) {
      this.pass();
      // A line longer than a whole batch goes on its own.
      if (worstCase > this.batchBytes) {
        this.writer.write(Buffer.from(line, 'utf8'));
        return true;
      }
    }
    this.used += this.batch.write(line, this.used, 'utf8');
    return true;
  }

  /** Hands what is pending to the writer, which writes it as soon as its previous write has finished. */
  flush(callback?: (error?: Error) => void): void {
    this.pass();
    callback?.();
  }

  /** Writes everything out before returning: for process exit. */
  flushSync(): void {
    this.pass();
    this.writer.flushSync();
  }

  private pass(): void {
    if (this.used === 0) return;
    // The writer keeps the buffer until it is written: the next batch gets a new one.
    const full = this.batch.subarray(0, this.used);
    this.batch = Buffer.allocUnsafe(this.batchBytes);
    this.used = 0;
    this.writer.write(full);
  }
}
