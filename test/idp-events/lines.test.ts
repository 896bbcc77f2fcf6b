import { describe, expect, it } from 'vitest';
import { LineSplitter, type UnreadableLine } from '../../src/idp-events/lines.js';

function splitter(maxLineBytes = 64) {
  const lines: string[] = [];
  const unreadable: UnreadableLine[] = [];
  const instance = new LineSplitter(maxLineBytes, { line: (text) => lines.push(text), unreadable: (reason) => unreadable.push(reason) });
  return { instance, lines, unreadable };
}

describe('LineSplitter', () => {
  it('emits complete lines and holds a partial one until its newline', () => {
    const { instance, lines } = splitter();
    instance.push(Buffer.from('one\ntw'));
    expect(lines).toEqual(['one']);
    expect(instance.hasPartialLine).toBe(true);
    instance.push(Buffer.from('o\r\n'));
    expect(lines).toEqual(['one', 'two']);
    expect(instance.hasPartialLine).toBe(false);
  });

  it('decodes a UTF-8 character split across two chunks whole', () => {
    const { instance, lines } = splitter();
    const bytes = Buffer.from('clientId="café"\n');
    const cut = bytes.indexOf(0xc3) + 1;
    instance.push(bytes.subarray(0, cut));
    instance.push(bytes.subarray(cut));
    expect(lines).toEqual(['clientId="café"']);
  });

  it('copies held bytes, so the caller may reuse its buffer', () => {
    const { instance, lines } = splitter();
    const reused = Buffer.from('abc');
    instance.push(reused);
    reused.write('XYZ');
    instance.push(Buffer.from('\n'));
    expect(lines).toEqual(['abc']);
  });

  it('reports a line with invalid UTF-8 instead of patching it', () => {
    const { instance, lines, unreadable } = splitter();
    instance.push(Buffer.from([0x61, 0xff, 0xfe, 0x0a, 0x62, 0x0a]));
    expect(unreadable).toEqual(['invalid_utf8']);
    expect(lines).toEqual(['b']);
  });

  it('reports a too-long line once and drops it without holding it, then reads the next line', () => {
    const { instance, lines, unreadable } = splitter(8);
    instance.push(Buffer.from('0123456'));
    instance.push(Buffer.from('789abcdef'));
    expect(unreadable).toEqual(['too_long']);
    expect(instance.hasPartialLine).toBe(true);
    instance.push(Buffer.from('more of the same line'));
    instance.push(Buffer.from('\nnext\n'));
    expect(unreadable).toEqual(['too_long']);
    expect(lines).toEqual(['next']);
  });

  it('accepts a line of exactly the cap and reports one byte more', () => {
    const { instance, lines, unreadable } = splitter(4);
    instance.push(Buffer.from('abcd\nabcde\n'));
    expect(lines).toEqual(['abcd']);
    expect(unreadable).toEqual(['too_long']);
  });

  it('skips the NUL hole a writer leaves after a copytruncate', () => {
    const { instance, lines } = splitter();
    instance.push(Buffer.concat([Buffer.alloc(20), Buffer.from('event\n')]));
    expect(lines).toEqual(['event']);
  });

  it('drops the rest of a line it started inside, silently', () => {
    const { instance, lines, unreadable } = splitter();
    instance.skipToNextLine();
    instance.push(Buffer.from('tail of a line\nwhole\n'));
    expect(lines).toEqual(['whole']);
    expect(unreadable).toEqual([]);
  });

  it('reports a partial line as unterminated when its file is finished', () => {
    const { instance, unreadable } = splitter();
    instance.push(Buffer.from('no newline'));
    instance.finish();
    expect(unreadable).toEqual(['unterminated']);
  });
});
