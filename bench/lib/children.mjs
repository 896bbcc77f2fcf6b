import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Every child process of a bench run goes through here, pinned to one core with taskset, so that one place can
 * stop them all: at the end, on an error and on Ctrl-C. Children are signalled by their own pid, never by name.
 */

const live = new Set();
/** pid -> core of every process of this run that is pinned: the children, and this process once pinSelf ran. */
const pinned = new Map();

export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

/**
 * Spawns `command args` with its CPU affinity set to `core` (taskset execs, so the pid is the command's own).
 * With `detached: true` the child leads its own process group and is always signalled as a group: for servers
 * such as NGINX and Apache that fork workers, which would outlive a killed master.
 */
export function spawnPinned(core, command, args, options = {}) {
  const child = spawn('taskset', ['-c', String(core), command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  child.processGroup = options.detached === true;
  live.add(child);
  pinned.set(child.pid, core);
  child.once('exit', () => {
    live.delete(child);
    pinned.delete(child.pid);
  });
  child.stderrText = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    // Keep the tail only: enough to explain a failure, bounded however chatty the child is.
    child.stderrText = (child.stderrText + chunk).slice(-8192);
  });
  return child;
}

/**
 * Runs a pinned command to completion and resolves with its stdout; rejects on a non-zero exit or when it
 * outlives `timeoutMs` (then it is killed).
 */
export function runPinned(core, command, args, { timeoutMs, ...options } = {}) {
  const child = spawnPinned(core, command, args, options);
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}\n${child.stderrText}${stdout.slice(-2000)}`));
    });
  });
}

/** Resolves with the JSON after the first stdout line starting with `prefix`; rejects if the child exits first. */
export function awaitLine(child, prefix, timeoutMs) {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => fail(new Error(`no ${prefix} line within ${timeoutMs} ms\n${child.stderrText}`)), timeoutMs);
    function fail(error) {
      clearTimeout(timer);
      lines.close();
      child.off('exit', onExit);
      reject(error);
    }
    function onExit(code, signal) {
      fail(new Error(`process exited (${code ?? signal}) before ${prefix}\n${child.stderrText}`));
    }
    child.once('exit', onExit);
    lines.on('line', (line) => {
      if (!line.startsWith(prefix)) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      // Keep draining stdout so a chatty child never blocks on a full pipe.
      lines.removeAllListeners('line');
      resolve(JSON.parse(line.slice(prefix.length)));
    });
  });
}

/** Sends `signal` to a child, or to its whole process group when it was spawned detached. */
function signalChild(child, signal) {
  if (!child.processGroup) return void child.kill(signal);
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Asks a child to stop (SIGTERM), then kills it if it is still there after `graceMs`. */
export function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => signalChild(child, 'SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    signalChild(child, 'SIGTERM');
  });
}

export async function stopAllChildren() {
  await Promise.all([...live].map((child) => stopChild(child, 3000)));
}

/** Stops every child when the run ends badly: Ctrl-C, SIGTERM, or an error nobody caught. */
export function stopChildrenOnExit() {
  const abort = (signal) => {
    process.stderr.write(`\nbench: ${signal}, stopping ${live.size} child process(es)\n`);
    for (const child of live) signalChild(child, 'SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', () => abort('SIGINT'));
  process.once('SIGTERM', () => abort('SIGTERM'));
  // Last resort: exit handlers run synchronously, so only a synchronous kill can happen here.
  process.once('exit', () => {
    for (const child of live) signalChild(child, 'SIGKILL');
  });
}

/** Moves this process (every thread) to `core`, so the orchestrator never competes with the servers' core. */
export function pinSelf(core) {
  execFileSync('taskset', ['-a', '-c', '-p', String(core), String(process.pid)], { stdio: 'ignore', timeout: 5000 });
  pinned.set(process.pid, core);
}

/** pids of this run's processes pinned to `core`. */
export function pidsOnCore(core) {
  return [...pinned].filter(([, pinnedCore]) => pinnedCore === core).map(([pid]) => pid);
}
