import { formatIso, formatSpan } from './format.js';

/** `3m ago` or `in 3m`, counted in whole seconds as NumericDates are. */
export function relative(epochSeconds: number, nowSeconds: number): string {
  const now = Math.floor(nowSeconds);
  const span = formatSpan(epochSeconds - now);
  return epochSeconds <= now ? `${span} ago` : `in ${span}`;
}

const PHRASES: Readonly<Record<'exp' | 'nbf' | 'iat', { past: string; future: string }>> = {
  exp: { past: 'expired', future: 'expires' },
  nbf: { past: 'valid since', future: 'not valid until' },
  iat: { past: 'issued', future: 'issued (in the future!)' },
};

/** The time claims a token carries, as [claim, ISO time, what it means now] rows. */
export function timeRows(claims: Readonly<Record<string, unknown>>, nowSeconds: number): string[][] {
  const rows: string[][] = [];
  for (const claim of ['iat', 'nbf', 'exp'] as const) {
    const value = claims[claim];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      rows.push([claim, `not a NumericDate: ${JSON.stringify(value)}`, '']);
      continue;
    }
    const phrase = PHRASES[claim];
    rows.push([claim, formatIso(value), `${value <= nowSeconds ? phrase.past : phrase.future} ${relative(value, nowSeconds)}`]);
  }
  return rows;
}
