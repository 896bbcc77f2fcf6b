/**
 * Plain text for operators: one check per line, names and marks in aligned columns, values from the outside world
 * (tokens, IdP documents) quoted so that they can neither forge a line nor move the cursor.
 */

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface Check {
  /** Short and stable: `signature`, `exp`, `discovery`. */
  name: string;
  status: CheckStatus;
  /** Why, in words, with the values that decided it. */
  detail: string;
}

export const MARKS: Readonly<Record<CheckStatus, string>> = { pass: '✓', fail: '✗', warn: '!', skip: '-' };

const NAME_COLUMN = 12;

export function formatChecks(checks: readonly Check[], indent = '  '): string[] {
  const width = Math.max(NAME_COLUMN, ...checks.map((check) => check.name.length + 2));
  return checks.map((check) => `${indent}${check.name.padEnd(width)}${MARKS[check.status]}  ${check.detail}`);
}

export function hasFailure(checks: readonly Check[]): boolean {
  return checks.some((check) => check.status === 'fail');
}

/** Rows of cells as columns separated by two spaces; the last column is not padded. */
export function formatTable(rows: ReadonlyArray<readonly string[]>, indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '));
}

const PLAIN = /^[\x21-\x7e]{1,200}$/;

/** A value from a token or an IdP as text: plain printable words as they are, anything else JSON-quoted. */
export function show(value: unknown): string {
  if (typeof value === 'string' && PLAIN.test(value) && !value.startsWith('"')) return value;
  if (value === undefined) return 'undefined';
  return JSON.stringify(value);
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

const SPAN_UNITS = [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const;

/** `3m`, `1h 5m`, `2d 4h`: the two largest units, a zero second unit left out. */
export function formatSpan(seconds: number): string {
  const total = Math.round(Math.abs(seconds));
  const first = SPAN_UNITS.findIndex(([, size]) => total >= size);
  if (first === -1) return '0s';
  const [unit, size] = SPAN_UNITS[first]!;
  const parts = [`${Math.floor(total / size)}${unit}`];
  const next = SPAN_UNITS[first + 1];
  const rest = next ? Math.floor((total % size) / next[1]) : 0;
  if (next && rest > 0) parts.push(`${rest}${next[0]}`);
  return parts.join(' ');
}

export function formatIso(epochSeconds: number): string {
  const date = new Date(epochSeconds * 1000);
  return Number.isNaN(date.getTime()) ? `${epochSeconds} (out of range)` : date.toISOString().replace('.000Z', 'Z');
}
