import type { DestinationStream } from 'pino';

/** What LineBatcher needs of the writer behind it (pino's SonicBoom destination, in buffer mode). */
export interface BatchWriter {
  write(chunk: Buffer): boolean;
  flushSync(): void;
}

/**
 * Collects log lines and hands them to the writer as one UTF-8 buffer per batch. SonicBoom, given strings, measures
 * the UTF-8 length of its whole pending buffer on every write and encodes it again to write it: a line per write
 * cost more than building the audit line itself (bench/ telemetry suite profiles). Here each batch is encoded once
 * and SonicBoom, in buffer mode, only queues it. Lines keep their order: every line of the logger goes through here.
 */
export class LineBatcher implements DestinationStream {
  private pending = '';

  constructor(
    private readonly writer: BatchWriter,
    /** Pending characters that make a batch (lines are mostly ASCII, so about as many bytes). */
    private readonly batchChars: number,
  ) {}

  write(line: string): boolean {
    this.pending += line;
    if (this.pending.length >= this.batchChars) this.pass();
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
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    this.writer.write(Buffer.from(text, 'utf8'));
  }
}
