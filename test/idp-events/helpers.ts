import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LineParser, ParseResult } from '../../src/idp-events/event.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/idp-events/', import.meta.url));

export function fixturePath(name: string): string {
  return FIXTURES + name;
}

export function fixtureLines(name: string): string[] {
  const text = readFileSync(fixturePath(name), 'utf8');
  return text.slice(0, text.lastIndexOf('\n')).split('\n');
}

/** Each line's result in a compact, readable form: 'ignored', 'malformed' or the event's fields. */
export function readAll(parse: LineParser, lines: readonly string[]): ParseResult[] {
  return lines.map((line) => parse(line));
}

export function tally(results: readonly ParseResult[]): { parsed: number; ignored: number; malformed: number } {
  const counts = { parsed: 0, ignored: 0, malformed: 0 };
  for (const result of results) {
    if (result === 'ignored' || result === 'malformed') counts[result]++;
    else counts.parsed++;
  }
  return counts;
}
