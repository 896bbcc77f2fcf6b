import { appendFileSync, closeSync, copyFileSync, openSync, renameSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { followingPerTest, issued, issuedLines } from './follow-helpers.js';

const start = followingPerTest();

const ISSUANCE = 'token_issuance_total';

describe('following an IdP event file', () => {
  it('starts at the end of an existing file and counts only what is appended', async () => {
    const f = start({ before: (path) => writeFileSync(path, issuedLines(5)) });
    await f.settle();
    appendFileSync(f.path, issuedLines(3));
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 3, ignored: 0, malformed: 0 });
    expect(await f.value(ISSUANCE, { client_id: 'svc', grant_type: 'client_credentials' })).toBe(3);
  });

  it('reads an existing file from its start with fromBeginning', async () => {
    const f = start({ fromBeginning: true, before: (path) => writeFileSync(path, issuedLines(5)) });
    appendFileSync(f.path, issuedLines(2));
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 7, ignored: 0, malformed: 0 });
  });

  it('does not read the tail of a line it started in the middle of as a line', async () => {
    const f = start({ before: (path) => writeFileSync(path, `${issuedLines(2)}{"event":"token_iss`) });
    await f.settle();
    appendFileSync(f.path, `ued","client_id":"svc"}\n${issuedLines(1)}`);
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 1, ignored: 0, malformed: 0 });
  });

  it('waits for a file that does not exist yet and reads it whole once it appears', async () => {
    const f = start();
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 0, ignored: 0, malformed: 0 });
    writeFileSync(f.path, issuedLines(4));
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 4, ignored: 0, malformed: 0 });
  });

  it('counts a partial last line only once its newline arrives', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    const line = issued('late-newline');
    appendFileSync(f.path, line.slice(0, 20));
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 0, ignored: 0, malformed: 0 });
    appendFileSync(f.path, line.slice(20, -1));
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 0, ignored: 0, malformed: 0 });
    appendFileSync(f.path, '\n');
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 1, ignored: 0, malformed: 0 });
    expect(await f.value(ISSUANCE, { client_id: 'late-newline' })).toBe(1);
  });

  it('follows a rename-and-create rotation without losing or repeating a line', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    appendFileSync(f.path, issuedLines(3, 'before'));
    await f.settle();
    renameSync(f.path, `${f.path}.1`);
    // The writer has not reopened yet: these land in the renamed file.
    appendFileSync(`${f.path}.1`, issuedLines(2, 'before'));
    writeFileSync(f.path, issuedLines(4, 'after'));
    await f.settle();
    appendFileSync(`${f.path}.1`, issuedLines(1, 'before'));
    appendFileSync(f.path, issuedLines(1, 'after'));
    await f.settle();
    expect(await f.value(ISSUANCE, { client_id: 'before' })).toBe(6);
    expect(await f.value(ISSUANCE, { client_id: 'after' })).toBe(5);
    expect(await f.lines()).toEqual({ parsed: 11, ignored: 0, malformed: 0 });
  });

  it('follows a rotation whose new file appears only later', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    appendFileSync(f.path, issuedLines(2, 'before'));
    renameSync(f.path, `${f.path}.1`);
    await f.settle();
    writeFileSync(f.path, issuedLines(3, 'after'));
    await f.settle();
    expect(await f.value(ISSUANCE, { client_id: 'before' })).toBe(2);
    expect(await f.value(ISSUANCE, { client_id: 'after' })).toBe(3);
  });

  it('follows copytruncate: reads the truncated file from its start', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    appendFileSync(f.path, issuedLines(5, 'before'));
    await f.settle();
    copyFileSync(f.path, `${f.path}.1`);
    truncateSync(f.path, 0);
    await f.settle();
    appendFileSync(f.path, issuedLines(2, 'after'));
    await f.settle();
    expect(await f.value(ISSUANCE, { client_id: 'before' })).toBe(5);
    expect(await f.value(ISSUANCE, { client_id: 'after' })).toBe(2);
    expect(await f.lines()).toEqual({ parsed: 7, ignored: 0, malformed: 0 });
  });

  it('notices a truncate that was refilled past the old size before the next read', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    appendFileSync(f.path, issuedLines(2, 'before'));
    await f.settle();
    truncateSync(f.path, 0);
    appendFileSync(f.path, issuedLines(6, 'after'));
    await f.settle();
    expect(await f.value(ISSUANCE, { client_id: 'before' })).toBe(2);
    expect(await f.value(ISSUANCE, { client_id: 'after' })).toBe(6);
  });

  it('reads past the NUL hole a writer without O_APPEND leaves after copytruncate', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    const writer = openSync(f.path, 'r+');
    const first = issuedLines(3, 'before');
    writeSync(writer, first, 0);
    await f.settle();
    truncateSync(f.path, 0);
    writeSync(writer, issued('after'), Buffer.byteLength(first));
    closeSync(writer);
    await f.settle();
    expect(await f.value(ISSUANCE, { client_id: 'after' })).toBe(1);
    expect(await f.lines()).toEqual({ parsed: 4, ignored: 0, malformed: 0 });
  });

  it('reads a 1 MB line and counts a line over the cap as malformed without stopping', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    const big = issued('big', 'client_credentials', { padding: 'x'.repeat(1_000_000) });
    expect(big.length).toBeGreaterThan(1_000_000);
    appendFileSync(f.path, big);
    appendFileSync(f.path, `${JSON.stringify({ event: 'token_issued', padding: 'y'.repeat(1_100_000) })}\n`);
    appendFileSync(f.path, issued('after-big'));
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 2, ignored: 0, malformed: 1 });
    expect(await f.value(ISSUANCE, { client_id: 'big' })).toBe(1);
    expect(await f.value(ISSUANCE, { client_id: 'after-big' })).toBe(1);
  });

  it('counts a line over the cap as malformed as soon as it passes the cap, before its newline', async () => {
    const f = start({ before: (path) => writeFileSync(path, ''), deps: { follow: { pollIntervalMs: 60_000, maxLineBytes: 1000 } } });
    await f.settle();
    appendFileSync(f.path, 'z'.repeat(5000));
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 0, ignored: 0, malformed: 1 });
    appendFileSync(f.path, `${'z'.repeat(5000)}\n${issuedLines(1)}`);
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 1, ignored: 0, malformed: 1 });
  });

  it('counts invalid UTF-8 and garbage as malformed and keeps reading', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    appendFileSync(f.path, Buffer.concat([Buffer.from('{"event":"token_issued","client_id":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}\n')]));
    appendFileSync(f.path, Buffer.from([0x00, 0x01, 0x02, 0x7f, 0x0a]));
    appendFileSync(f.path, 'garbage } { ][\n');
    appendFileSync(f.path, issuedLines(2));
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 2, ignored: 0, malformed: 3 });
  });

  it('follows on its own, without being asked, through its poll and directory watch', async () => {
    const f = start({ before: (path) => writeFileSync(path, ''), deps: { follow: { pollIntervalMs: 20 } } });
    await f.settle();
    appendFileSync(f.path, issuedLines(3));
    await vi.waitFor(async () => expect((await f.lines()).parsed).toBe(3), { timeout: 2000, interval: 10 });
  });

  it('counts a line left unfinished in a rotated file as malformed once the file is retired', async () => {
    const f = start({ before: (path) => writeFileSync(path, ''), deps: { follow: { pollIntervalMs: 60_000, retiredFileGraceMs: 0 } } });
    await f.settle();
    appendFileSync(f.path, `${issuedLines(1)}{"event":"tok`);
    await f.settle();
    renameSync(f.path, `${f.path}.1`);
    writeFileSync(f.path, issuedLines(1));
    await f.settle();
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 2, ignored: 0, malformed: 1 });
  });

  it('drains a deleted file and reads its replacement', async () => {
    const f = start({ before: (path) => writeFileSync(path, '') });
    await f.settle();
    appendFileSync(f.path, issuedLines(2));
    unlinkSync(f.path);
    await f.settle();
    writeFileSync(f.path, issuedLines(3));
    await f.settle();
    expect(await f.lines()).toEqual({ parsed: 5, ignored: 0, malformed: 0 });
  });
});
