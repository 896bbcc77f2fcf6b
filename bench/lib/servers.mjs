import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SERVER_CORE, awaitLine, spawnPinned, stopChild } from './children.mjs';

/**
 * Servers under test, each its own process on the server core. A server script prints `READY {"url",...}` when
 * it can take load; until then nothing is measured.
 */

const READY_TIMEOUT_MS = 20_000;
const serverScript = (name) => fileURLToPath(new URL(`../servers/${name}.mjs`, import.meta.url));

/**
 * Starts `bench/servers/<script>.mjs` with `args`, on `core` (the server core unless told otherwise), on the Node.js
 * binary `node` (this process's unless told otherwise). With
 * `profileDir`, node writes a CPU profile there when the server stops (`node --cpu-prof`), named after the server.
 */
export async function startServer(name, script, { env = {}, profileDir, core = SERVER_CORE, args = [], nodeArgs: extraNodeArgs = [], node = process.execPath } = {}) {
  const nodeArgs = [...extraNodeArgs];
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name.replace(/[^a-z0-9-]+/gi, '_')}.cpuprofile`);
  }
  const child = spawnPinned(core, node, [...nodeArgs, serverScript(script), ...args], { env: { ...process.env, ...env } });
  const ready = await awaitLine(child, 'READY ', READY_TIMEOUT_MS).catch(async (error) => {
    await stopChild(child);
    throw new Error(`server ${name} did not start: ${error.message}`);
  });
  return { name, pid: child.pid, ...ready, stop: () => stopChild(child) };
}

export function startBareFastify() {
  return startServer('bare fastify', 'bare-fastify');
}

/** tokenwatch with `config` (the same shape as a YAML file, before defaults); `options.env` adds to the environment. */
export function startTokenwatch(name, config, options = {}) {
  return startServer(name, 'tokenwatch', { ...options, env: { ...options.env, BENCH_TOKENWATCH_CONFIG: JSON.stringify(config) } });
}

/** The bare upstream: node:http answering 200 `ok` to everything (bench/servers/upstream.mjs), on `core`. */
export function startUpstream(name, core) {
  return startServer(name, 'upstream', { core });
}
