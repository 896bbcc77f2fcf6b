import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOAD_CORE, pinSelf, stopAllChildren, stopChildrenOnExit } from './children.mjs';

/** What the bench entry points share: the suite registry, options from the environment, set-up and clean-up. */

export const SUITES = {
  authz: () => import('../suites/authz.mjs'),
  proxy: () => import('../suites/proxy.mjs'),
  telemetry: () => import('../suites/telemetry.mjs'),
  footprint: () => import('../suites/footprint.mjs'),
};

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export async function loadSuites(names) {
  const unknown = names.filter((name) => !(name in SUITES));
  if (unknown.length > 0) throw new Error(`unknown suite(s): ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`);
  const suites = {};
  for (const name of names) {
    suites[name] = await SUITES[name]();
    const problem = suites[name].checkPrerequisites?.();
    if (problem) throw new Error(`suite ${name}: ${problem}`);
  }
  return suites;
}

function parseDuration(name, fallback) {
  const text = process.env[name] || fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`${name}=${text}: expected a duration such as 500ms, 5s or 1m`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2]];
}

function parseCount(name, fallback, minimum) {
  const value = Number(process.env[name] || fallback);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`${name}=${process.env[name]}: expected an integer >= ${minimum}`);
  return value;
}

/** BENCH_DURATION, BENCH_WARMUP, BENCH_RUNS, BENCH_CONNECTIONS, BENCH_RATE, with the documented defaults. */
export function benchOptions() {
  return {
    durationMs: parseDuration('BENCH_DURATION', '5s'),
    warmupMs: parseDuration('BENCH_WARMUP', '2s'),
    runs: parseCount('BENCH_RUNS', '3', 1),
    connections: parseCount('BENCH_CONNECTIONS', '50', 1),
    rate: parseCount('BENCH_RATE', '1000', 1),
  };
}

/** Output of a command, undefined when it is not installed; a failing command's output is still returned. */
export function commandOutput(file, args) {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).trim();
  } catch (error) {
    return error.code === 'ENOENT' ? undefined : `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
  }
}

/**
 * Runs `body(workDir)` with the tools checked, this process pinned to the load core, a temporary directory, and
 * every child process stopped afterwards; exits 0, or 1 with the error.
 */
export function runBench(body) {
  const attempt = async () => {
    for (const [tool, fix] of [['wrk', 'apt-get install -y wrk'], ['taskset', 'apt-get install -y util-linux']]) {
      if (commandOutput(tool, ['-V']) === undefined) throw new Error(`${tool} is not installed (${fix})`);
    }
    if (cpus().length < 2) throw new Error(`servers and load generators are pinned to different cores: 2 are needed, this machine has ${cpus().length}`);
    stopChildrenOnExit();
    pinSelf(LOAD_CORE);
    const workDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-'));
    try {
      await body(workDir);
    } finally {
      await stopAllChildren();
      rmSync(workDir, { recursive: true, force: true });
    }
  };
  attempt().then(
    () => process.exit(0),
    async (error) => {
      process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
      await stopAllChildren();
      process.exit(1);
    },
  );
}
