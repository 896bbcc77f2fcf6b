import { z } from 'zod';
import { DURATION_HINT, parseDuration } from './duration.js';

/** A duration string in the YAML, milliseconds once parsed. */
export function duration(defaultText: string) {
  return z
    .string()
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

/** `host:port`, `[v6]:port` or `:port`; parsed into what `listen()` takes. */
export interface ListenAddress {
  host: string;
  port: number;
}

const LISTEN_PATTERN = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/;

export function listenAddress(defaultText: string) {
  return z
    .string()
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
