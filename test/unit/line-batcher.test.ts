import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { LineBatcher, type BatchWriter } from '../../src/logging/line-batcher.js';
import { batchedDestination, createLogger, logWriterStats } from '../../src/logging/logger.js';
import { eventually } from '../support/eventually.js';

function recordingWriter() {
  const writes: string[] = [];
  let syncFlushes = 0;
  const writer: BatchWriter = {
    write(chunk) {
      writes.push(chunk.toString('utf8'));
      return true;
    },
    flushSync() {
      syncFlushes += 1;
    },
  };
  return { writer, writes, syncFlushes: () => syncFlushes };
}

describe('LineBatcher', () => {
  test('hands lines on in batches no larger than the batch size, several lines each, in order', () => {
    const { writer, writes } = recordingWriter();
    const batcher = new LineBatcher(writer, 100);
    const lines = Array.from({ length: 50 }, (_, index) => `{"n":${index},"pad":"${'x'.repeat(index % 7)}"}\n`);
    for (const line of lines) batcher.write(line);
    batcher.flush();
    expect(writes.join('')).toBe(lines.join(''));
    expect(writes.every((text) => Buffer.byteLength(text) <= 100)).toBe(true);
    expect(writes.length).toBeGreaterThan(5);
    expect(writes.length).toBeLessThan(lines.length / 2);
  });

  test('nothing is handed on below the batch size until a flush; an empty flush writes nothing', () => {
    const { writer, writes, syncFlushes } = recordingWriter();
    const batcher = new LineBatcher(writer, 8192);
    batcher.write('a\n');
    batcher.write('b\n');
    expect(writes).toEqual([]);
    let called = false;
    batcher.flush(() => (called = true));
    expect(called).toBe(true);
    expect(writes).toEqual(['a\nb\n']);
    batcher.flush();
    expect(writes).toHaveLength(1);
    batcher.write('c\n');
    batcher.flushSync();
    expect(writes).toEqual(['a\nb\n', 'c\n']);
    expect(syncFlushes()).toBe(1);
  });

  test('a line longer than a batch is written on its own, after what was pending', () => {
    const { writer, writes } = recordingWriter();
    const batcher = new LineBatcher(writer, 64);
    batcher.write('a\n');
    const long = `${'x'.repeat(500)}\n`;
    batcher.write(long);
    batcher.write('b\n');
    batcher.flush();
    expect(writes).toEqual(['a\n', long, 'b\n']);
  });

  test('multi-byte characters are never split across batches', () => {
    const { writer, writes } = recordingWriter();
    const batcher = new LineBatcher(writer, 32);
    const lines = Array.from({ length: 40 }, (_, index) => `${'é☃𝄞'.repeat(index % 3)}${index}\n`);
    for (const line of lines) batcher.write(line);
    batcher.flush();
    expect(writes.join('')).toBe(lines.join(''));
    expect(writes.every((text) => !text.includes('\uFFFD'))).toBe(true);
  });

  test('lines with multi-byte characters arrive as UTF-8', () => {
    const { writer, writes } = recordingWriter();
    const batcher = new LineBatcher(writer, 4);
    batcher.write('{"client":"clé ☃ 𝄞"}\n');
    expect(writes).toEqual(['{"client":"clé ☃ 𝄞"}\n']);
  });

  test('through pino into a real file: every line arrives whole and in order', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tokenwatch-batcher-')), 'log.jsonl');
    const destination = batchedDestination(file) as LineBatcher;
    const logger = createLogger('info', destination);
    for (let index = 0; index < 2000; index += 1) logger.info({ event: 'n', index });
    destination.flush();
    const lines = await eventually(() => {
      const text = readFileSync(file, 'utf8');
      return text.split('\n').length === 2001 && text.trimEnd().split('\n');
    });
    expect(lines.map((line) => (JSON.parse(line) as { index: number }).index)).toEqual(Array.from({ length: 2000 }, (_, index) => index));
  });

  test('a stdout nobody reads: the event loop never blocks, lines past the bound are dropped and counted, a closed pipe is counted, not thrown', async () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'tokenwatch-batcher-')), 'stdout');
    execFileSync('mkfifo', [fifo]);
    // A reader that never reads: the pipe fills at 64 KiB and every further write waits.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const dropped = logWriterStats.droppedLines;
    const errors = logWriterStats.writeErrors;
    const destination = batchedDestination(fifo, 256 * 1024) as LineBatcher;
    const line = `{"event":"n","pad":"${'x'.repeat(200)}"}\n`;
    const started = performance.now();
    for (let index = 0; index < 20_000; index += 1) destination.write(line);
    destination.flush();
    expect(performance.now() - started).toBeLessThan(2000);
    // 4.4 MB written against 64 KiB in the pipe and 256 KiB allowed to wait: most lines are dropped, each counted.
    await eventually(() => logWriterStats.droppedLines - dropped > 10_000);
    expect(logWriterStats.droppedLines - dropped).toBeLessThan(20_000);
    closeSync(reader);
    destination.write(line);
    destination.flush();
    await eventually(() => logWriterStats.writeErrors > errors);
  });
});
