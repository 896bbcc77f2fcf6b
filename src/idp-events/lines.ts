import { isUtf8 } from 'node:buffer';

/**
 * Why a line was not handed to the parser: longer than the cap, not UTF-8, or cut off for good (its file was
 * retired after a rotation before the newline came).
 */
export type UnreadableLine = 'too_long' | 'invalid_utf8' | 'unterminated';

export interface LineSink {
  line(text: string): void;
  unreadable(reason: UnreadableLine): void;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const NUL = 0x00;

/**
 * Cuts bytes into lines. Works on bytes, not strings, so a UTF-8 character split across two reads is decoded
 * whole and a line with invalid UTF-8 is recognised rather than silently patched with U+FFFD.
 *
 * Memory is bounded by maxLineBytes: a line that grows past it is reported once as too_long and its remaining
 * bytes are dropped as they arrive, up to its newline; it is never buffered whole. A partial last line waits for
 * its newline and is only reported once complete.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Dropping bytes up to the next newline: after a too-long line, or when starting inside a line. */
  private discarding = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly sink: LineSink,
  ) {}

  /** True when bytes of an unfinished line are held (or being dropped). */
  get hasPartialLine(): boolean {
    return this.pendingBytes > 0 || this.discarding;
  }

  /** Drops everything up to the next newline without reporting it: for a start in the middle of a line. */
  skipToNextLine(): void {
    this.reset();
    this.discarding = true;
  }

  /** The file will not grow again: a partial line still held will never be completed. */
  finish(): void {
    const unterminated = this.pendingBytes > 0;
    this.reset();
    if (unterminated) this.sink.unreadable('unterminated');
  }

  /** Forgets a partial line (the file it came from was truncated). */
  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.discarding = false;
  }

  /** `chunk` may be reused by the caller once this returns: pending bytes are copied. */
  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline < 0) {
        this.hold(chunk, start, chunk.length);
        return;
      }
      this.complete(chunk, start, newline);
      start = newline + 1;
    }
  }

  private hold(chunk: Buffer, start: number, end: number): void {
    if (this.discarding) return;
    if (this.pendingBytes + (end - start) > this.maxLineBytes) {
      this.reset();
      this.discarding = true;
      this.sink.unreadable('too_long');
      return;
    }
    this.pending.push(Buffer.from(chunk.subarray(start, end)));
    this.pendingBytes += end - start;
  }

  private complete(chunk: Buffer, start: number, end: number): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    if (this.pendingBytes + (end - start) > this.maxLineBytes) {
      this.reset();
      this.sink.unreadable('too_long');
      return;
    }
    let bytes = chunk.subarray(start, end);
    if (this.pendingBytes > 0) {
      this.pending.push(bytes);
      bytes = Buffer.concat(this.pending, this.pendingBytes + bytes.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    this.emit(bytes);
  }

  private emit(bytes: Buffer): void {
    let from = 0;
    let to = bytes.length;
    // A writer that kept its offset across a copytruncate leaves a hole of NUL bytes before its next line.
    while (from < to && bytes[from] === NUL) from++;
    if (to > from && bytes[to - 1] === CARRIAGE_RETURN) to--;
    const line = bytes.subarray(from, to);
    if (!isUtf8(line)) {
      this.sink.unreadable('invalid_utf8');
      return;
    }
    this.sink.line(line.toString('utf8'));
  }
}
