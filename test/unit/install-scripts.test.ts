import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';

/**
 * The README says no install script is needed (`npm install --ignore-scripts` gives the same tree): that holds while
 * the only dependency with one is protobufjs, whose postinstall only warns packages that depend on it with a `^`
 * range. A new dependency with an install script fails here, so the README is looked at again.
 */
test('protobufjs is the only dependency in the lock file with an install script', async () => {
  const lock = JSON.parse(await readFile(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
    packages: Record<string, { hasInstallScript?: boolean }>;
  };
  const withScripts = Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript)
    .map(([path]) => path);
  expect(withScripts).toEqual(['node_modules/protobufjs']);
});
