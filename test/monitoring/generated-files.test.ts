import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { generatedFiles } from '../../monitoring/generate.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Every file under a folder, as paths relative to the repository root. */
function filesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

describe('the generated monitoring files', () => {
  test('the committed alerts/ and dashboards/ are byte for byte what `npm run monitoring` generates', () => {
    for (const [path, content] of generatedFiles()) {
      expect(readFileSync(join(ROOT, path), 'utf8'), `${path} differs from the generator's output: run npm run monitoring`).toBe(content);
    }
  });

  test('no rule file or dashboard is committed that the generator does not make', () => {
    const generated = [...generatedFiles().keys()].sort();
    const committed = [...filesUnder('dashboards'), ...filesUnder('alerts').filter((path) => !path.startsWith('alerts/tests/'))].sort();
    expect(committed).toEqual(generated);
  });
});
