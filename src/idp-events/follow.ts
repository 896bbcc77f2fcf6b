import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { IdpEventsError } from './errors.js';
import type { LineSink } from './lines.js';
import { TrackedFile } from './tracked-file.js';

/**
 * Follows one log file by byte offset, like `tail -F`, without losing or repeating a complete line. Decision
 * record: docs/decisions/0002-idp-event-follower.md (why not the `tail` package).
 *
 * - Polling is the source of truth; an fs.watch on the directory only wakes the poll early, so lag is low where
 *   inotify works and nothing breaks where it does not (network volumes).
 * - Rename-and-create: the path now names another inode. The new file is read from its start; the old one is
 *   retired but still read until it has been quiet for retiredFileGraceMs, because a writer keeps appending to it
 *   until it reopens its log. A removed path retires the file the same way.
 * - Copytruncate: see TrackedFile.restartIfTruncated.
 * - A file that does not exist yet is waited for and read from its start once it appears.
 */

export interface FollowOptions {
  path: string;
  /** Read an existing file from its start; otherwise start at its end (a file that appears later is read whole). */
  fromBeginning: boolean;
  sink: LineSink;
  logger: Logger;
  pollIntervalMs?: number;
  maxLineBytes?: number;
  retiredFileGraceMs?: number;
}

export const FOLLOW_DEFAULTS = {
  pollIntervalMs: 250,
  maxLineBytes: 1024 * 1024,
  retiredFileGraceMs: 10_000,
} as const;

const READ_CHUNK_BYTES = 64 * 1024;
/** Bytes read per pass before yielding to the event loop, so a huge backlog does not starve the admin listener. */
const BYTES_PER_PASS = 4 * 1024 * 1024;
/** Rotated files still being drained; beyond this the oldest is closed (bounds open descriptors). */
const MAX_RETIRED_FILES = 4;

export class FileFollower {
  private readonly path: string;
  private readonly fileName: string;
  private readonly pollIntervalMs: number;
  private readonly maxLineBytes: number;
  private readonly retiredFileGraceMs: number;
  private readonly logger: Logger;
  private readonly readBuffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);

  private current: TrackedFile | undefined;
  private retired: TrackedFile[] = [];
  /** The file present at start-up is read from its end (unless fromBeginning); any later file from its start. */
  private startAtEnd: boolean;
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private running: Promise<void> | undefined;
  private checkAgain = false;
  private stopped = false;
  /** Error codes already logged, so a file that stays unreadable does not log every poll. */
  private readonly reportedErrors = new Set<string>();

  constructor(private readonly options: FollowOptions) {
    this.path = options.path;
    this.fileName = basename(options.path);
    this.pollIntervalMs = options.pollIntervalMs ?? FOLLOW_DEFAULTS.pollIntervalMs;
    this.maxLineBytes = options.maxLineBytes ?? FOLLOW_DEFAULTS.maxLineBytes;
    this.retiredFileGraceMs = options.retiredFileGraceMs ?? FOLLOW_DEFAULTS.retiredFileGraceMs;
    this.logger = options.logger.child({ file: options.path });
    this.startAtEnd = !options.fromBeginning;
  }

  start(): void {
    this.timer = setInterval(() => this.requestCheck(), this.pollIntervalMs);
    this.timer.unref();
    this.requestCheck();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
    await this.running;
    const files = this.current ? [this.current, ...this.retired] : this.retired;
    this.current = undefined;
    this.retired = [];
    await Promise.all(files.map((file) => file.close()));
  }

  /** Resolves once every byte written before the call has been read (tests and the bench use it). */
  async settle(): Promise<void> {
    this.requestCheck();
    while (this.running) await this.running;
  }

  private requestCheck(): void {
    if (this.stopped) return;
    if (this.running) {
      this.checkAgain = true;
      return;
    }
    this.running = this.checkLoop().finally(() => {
      this.running = undefined;
    });
  }

  private async checkLoop(): Promise<void> {
    do {
      this.checkAgain = false;
      try {
        await this.check();
      } catch (error) {
        this.reportError(error);
      }
      // Yield between passes so a backlog shares the event loop.
      if (this.checkAgain && !this.stopped) await new Promise((resolve) => setImmediate(resolve));
    } while (this.checkAgain && !this.stopped);
  }

  private async check(): Promise<void> {
    this.ensureWatcher();
    await this.followPath();
    await this.drainRetired();
    const file = this.current;
    if (file === undefined || this.stopped) return;
    if (await file.restartIfTruncated()) this.logger.info('idp event file truncated (copytruncate); reading it again from its start');
    const reachedEnd = await file.drain(this.readBuffer, BYTES_PER_PASS, () => this.stopped);
    if (!reachedEnd) this.checkAgain = true;
  }

  /** Opens whatever the path names now, retiring the file followed so far when it has been replaced or removed. */
  private async followPath(): Promise<void> {
    let identity: { dev: number; ino: number } | undefined;
    try {
      identity = await stat(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const firstLook = this.startAtEnd;
    this.startAtEnd = false;
    if (identity === undefined) {
      if (this.current) {
        this.logger.info('idp event file removed or renamed; draining it and waiting for a new one');
        this.retire(this.current);
        this.current = undefined;
      } else if (firstLook) {
        this.logger.info('idp event file does not exist yet; waiting for it');
      }
      return;
    }
    if (this.current?.isFile(identity)) return;

    let opened: TrackedFile;
    try {
      opened = await TrackedFile.open(this.path, firstLook, this.maxLineBytes, this.options.sink);
    } catch (error) {
      // Rotated away between the stat and the open: the next poll finds its successor.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if (this.stopped) {
      await opened.close();
      return;
    }
    if (this.current) {
      this.logger.info('idp event file rotated; reading the new file from its start');
      this.retire(this.current);
    }
    this.logger.info({ from: firstLook ? 'end' : 'start' }, 'following idp event file');
    this.current = opened;
    this.reportedErrors.clear();
  }

  private retire(file: TrackedFile): void {
    file.lastGrowthMs = Date.now();
    this.retired.push(file);
    while (this.retired.length > MAX_RETIRED_FILES) void this.retired.shift()!.retire();
  }

  private async drainRetired(): Promise<void> {
    const now = Date.now();
    const keep: TrackedFile[] = [];
    for (const file of this.retired) {
      await file.drain(this.readBuffer, Number.POSITIVE_INFINITY, () => this.stopped);
      if (now - file.lastGrowthMs >= this.retiredFileGraceMs) await file.retire();
      else keep.push(file);
    }
    this.retired = keep;
  }

  /** Wakes the poll early on changes in the directory; polling alone still works if watching is impossible. */
  private ensureWatcher(): void {
    if (this.watcher || this.stopped) return;
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, name) => {
        if (name === null || name === this.fileName) this.requestCheck();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    }
  }

  private reportError(error: unknown): void {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    if (this.reportedErrors.has(code)) return;
    this.reportedErrors.add(code);
    const wrapped = new IdpEventsError('ERR_IDP_EVENTS_READ', this.path, `cannot read (${code}); retrying every poll`, { cause: error });
    this.logger.warn({ err: wrapped, code: wrapped.code }, wrapped.message);
  }
}
