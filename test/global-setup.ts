import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The secrets audit of the whole suite (see test/support/secret-audit.ts). A leak fails the run: vitest reports
 * teardown errors without failing, so the exit code is set here.
 */
export function setup(): void {
  process.env.TOKENWATCH_SECRET_AUDIT_DIR = mkdtempSync(join(tmpdir(), 'tokenwatch-secret-audit-'));
}

export function teardown(): void {
  const dir = process.env.TOKENWATCH_SECRET_AUDIT_DIR!;
  const files = readdirSync(dir);
  const read = (suffix: string) => files.filter((file) => file.endsWith(suffix)).map((file) => readFileSync(join(dir, file), 'utf8')).join('');
  const tokens = new Set(read('.tokens').split('\n').filter(Boolean));
  const output = read('.output');
  const leaks: string[] = [];
  for (const token of tokens) {
    const fragments = [token, ...token.split('.').slice(1)].filter((fragment) => fragment.length >= 16);
    for (const fragment of fragments) {
      if (output.includes(fragment)) leaks.push(`${fragment.slice(0, 12)}… (of a token issued by a test)`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const lines = output.split('\n').length - 1;
  if (leaks.length > 0) {
    console.error(`\nsecrets audit FAILED: ${leaks.length} token fragment(s) found in ${lines} lines of tokenwatch output:\n  ${leaks.slice(0, 10).join('\n  ')}`);
    process.exitCode = 1;
  } else if (tokens.size === 0 || lines === 0) {
    // A run of a few files may start no tokenwatch at all; the whole suite (CI) always does.
    if (process.env.CI) {
      console.error('\nsecrets audit FAILED: nothing was recorded (the audit hooks are not wired)');
      process.exitCode = 1;
    } else {
      console.log(`\nsecrets audit: nothing to check (${tokens.size} tokens, ${lines} lines of tokenwatch output)`);
    }
  } else {
    console.log(`\nsecrets audit: ${tokens.size} tokens issued by tests checked against ${lines} lines of tokenwatch output: none leaked`);
  }
}
