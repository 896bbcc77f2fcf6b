import { z } from 'zod';
import { DURATION_HINT, parseDuration } from './duration.js';

/** A duration string in the YAML, milliseconds once parsed. */
export function duration(defaultText: string) {
  return z
    .string({ error: (issue) => `expected ${DURATION_HINT}, got ${notAString(issue.input, (n) => `a duration needs its unit, such as ${n}s`)}` })
    .default(defaultText)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected ${DURATION_HINT}, got ${JSON.stringify(text)}` });
        return z.NEVER;
      }
      return ms;
    });
}

/**
 * What a key that takes a string got instead, said so that the fix is plain: YAML reads `30` as a number, so a
 * number gets the hint of how to write it.
 */
function notAString(input: unknown, numberHint: (value: number) => string): string {
  if (typeof input === 'number') return `the number ${input}: ${numberHint(input)}`;
  if (input === null) return 'an empty value';
  if (Array.isArray(input)) return 'a list';
  return typeof input === 'object' ? 'an object' : `a ${typeof input}`;
}

/** `host:port`, `[v6]:port` or `:port`; parsed into what `listen()` takes. */
export interface ListenAddress {
  host: string;
  port: number;
}

const LISTEN_PATTERN = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/;

export function listenAddress(defaultText: string) {
  return z
    .string({ error: (issue) => `expected host:port, got ${notAString(issue.input, (n) => `write :${n} (every address) or 127.0.0.1:${n}`)}` })
    .default(defaultText)
    .transform((text, ctx): ListenAddress => {
      const match = LISTEN_PATTERN.exec(text);
      const port = match ? Number(match[3]) : Number.NaN;
      if (!match || port > 65_535) {
        ctx.addIssue({ code: 'custom', message: `expected host:port (port 0-65535), got ${JSON.stringify(text)}` });
        return z.NEVER;
      }
      return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
    });
}
