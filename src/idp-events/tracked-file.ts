import { type FileHandle, open } from 'node:fs/promises';
import { type LineSink, LineSplitter } from './lines.js';

/** How many bytes before the offset are compared to detect a truncate-and-refill between two polls. */
const FINGERPRINT_BYTES = 64;
const NEWLINE = 0x0a;

/**
 * One open log file read by byte offset: its identity (device and inode, to tell a rotation), how far it has been
 * read, and the last bytes read (to tell a truncation even after the file has grown back past the offset).
 */
export class TrackedFile {
  /** Offset of the next byte to read. */
  private position = 0;
  /** The last bytes read, ending at `position`. */
  private fingerprint: Buffer = Buffer.alloc(0);
  /** When the file last grew (a retired file is closed once it has been quiet long enough). */
  lastGrowthMs = Date.now();

  private constructor(
    private readonly handle: FileHandle,
    readonly dev: number,
    readonly ino: number,
    private readonly splitter: LineSplitter,
  ) {}

  /** Opens `path` positioned at its start, or at its end (the tail of a line cut there is skipped, not read). */
  static async open(path: string, atEnd: boolean, maxLineBytes: number, sink: LineSink): Promise<TrackedFile> {
    const handle = await open(path, 'r');
    try {
      const { dev, ino, size } = await handle.stat();
      const file = new TrackedFile(handle, dev, ino, new LineSplitter(maxLineBytes, sink));
      if (atEnd && size > 0) {
        file.position = size;
        file.fingerprint = await file.readBefore(size);
        // Starting inside a line: its head is gone, so its tail must not be read as a line of its own.
        if (file.fingerprint[file.fingerprint.length - 1] !== NEWLINE) file.splitter.skipToNextLine();
      }
      return file;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  isFile(identity: { dev: number; ino: number }): boolean {
    return identity.dev === this.dev && identity.ino === this.ino;
  }

  /**
   * True, and reading restarts at 0, when the file was truncated: it is shorter than the offset, or the bytes
   * before the offset changed (truncated and refilled between two polls). A partial line held is dropped.
   */
  async restartIfTruncated(): Promise<boolean> {
    if (this.position === 0) return false;
    const { size } = await this.handle.stat();
    const truncated = size < this.position || !(await this.readBefore(this.position)).equals(this.fingerprint);
    if (truncated) {
      this.position = 0;
      this.fingerprint = Buffer.alloc(0);
      this.splitter.reset();
    }
    return truncated;
  }

  /**
   * Reads from the offset into the line splitter, `buffer` at a time, until the end of the file or `budget`
   * bytes. Returns false when the budget ran out before the end.
   */
  async drain(buffer: Buffer, budget: number, shouldStop: () => boolean): Promise<boolean> {
    let left = budget;
    while (!shouldStop()) {
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.position);
      if (bytesRead === 0) return true;
      const chunk = buffer.subarray(0, bytesRead);
      this.position += bytesRead;
      this.lastGrowthMs = Date.now();
      this.fingerprint = nextFingerprint(this.fingerprint, chunk);
      this.splitter.push(chunk);
      left -= bytesRead;
      if (left <= 0) return false;
    }
    return true;
  }

  /** Closes a file that will not be read again; a partial line it still holds is reported unterminated. */
  retire(): Promise<void> {
    this.splitter.finish();
    return this.close();
  }

  /** Closes without reporting a partial line: it may still be completed, and read by a later run. */
  close(): Promise<void> {
    return this.handle.close().catch(() => undefined);
  }

  private async readBefore(end: number): Promise<Buffer> {
    const length = Math.min(FINGERPRINT_BYTES, end);
    const bytes = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(bytes, 0, length, end - length);
    return bytes.subarray(0, bytesRead);
  }
}

function nextFingerprint(previous: Buffer, chunk: Buffer): Buffer {
  if (chunk.length >= FINGERPRINT_BYTES) return Buffer.from(chunk.subarray(chunk.length - FINGERPRINT_BYTES));
  const joined = Buffer.concat([previous, chunk]);
  return joined.length > FINGERPRINT_BYTES ? joined.subarray(joined.length - FINGERPRINT_BYTES) : joined;
}
