import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** The rule violations dependency-cruiser finds under `folders` of `cwd`, with the house's rules. */
function violations(cwd: string, folders: string[]): Promise<Violation[]> {
  return new Promise((resolve, reject) => {
    execFile(DEPCRUISE, [...folders, '--config', CONFIG, '--output-type', 'json'], { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!stdout) return reject(new Error(`depcruise gave no result: ${stderr || error?.message}`));
      resolve((JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations);
    });
  });
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-boundaries-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('module boundaries (.dependency-cruiser.cjs)', () => {
  test('the source tree has no cycle and imports only in the allowed directions', async () => {
    const folders = ['src', 'monitoring'].filter((folder) => existsSync(join(ROOT, folder)));
    const found = await violations(ROOT, folders);
    expect(found.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`)).toEqual([]);
  });

  test('a server module importing observability is a violation', async () => {
    const dir = tree({
      'src/server/gate/leak.ts': "import { counter } from '../../observability/metrics/counter.js';\nexport const leak = counter;\n",
      'src/observability/metrics/counter.ts': 'export const counter = 1;\n',
    });
    try {
      expect((await violations(dir, ['src'])).map((violation) => violation.rule.name)).toEqual(['server-direction']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a cycle between two modules is a violation', async () => {
    const dir = tree({
      'src/auth/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/auth/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    try {
      expect(new Set((await violations(dir, ['src'])).map((violation) => violation.rule.name))).toEqual(new Set(['no-circular']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
