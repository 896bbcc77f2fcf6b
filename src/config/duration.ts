/** Durations in configuration are strings such as `250ms`, `30s`, `10m`, `24h`, `7d`. */
const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses a duration string into milliseconds; returns undefined when the string is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]) * (UNIT_MS[match[2]!] ?? Number.NaN);
  return Number.isSafeInteger(value) ? value : undefined;
}

export const DURATION_HINT = 'a duration such as 250ms, 30s, 10m, 24h or 7d';
