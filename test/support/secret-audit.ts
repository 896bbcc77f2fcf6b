import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The suite-wide secrets audit: every token a test issues and every line a tokenwatch run prints are recorded here;
 * test/global-setup.ts checks after the whole suite that no token, payload or signature appears in any of it.
 */
const dir = process.env.TOKENWATCH_SECRET_AUDIT_DIR;

export function recordIssuedToken(token: string): void {
  if (dir) appendFileSync(join(dir, `${process.pid}.tokens`), `${token}\n`);
}

export function recordSidecarOutput(text: string): void {
  if (dir) appendFileSync(join(dir, `${process.pid}.output`), text.endsWith('\n') ? text : `${text}\n`);
}
