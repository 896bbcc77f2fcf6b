import { readFileSync, readdirSync } from 'node:fs';

/**
 * What the kernel accounts to a server's processes: CPU time from /proc/<pid>/stat (utime + stime, one clock tick
 * = 10 ms) and resident memory from /proc/<pid>/status. A server is its process and every descendant (NGINX and
 * Apache workers), so multi-process servers are charged for all their work.
 */

export const TICKS_PER_SECOND = 100;
const MICROS_PER_TICK = 1e6 / TICKS_PER_SECOND;

/** Fields of /proc/<pid>/stat after the command name, which may itself contain spaces; undefined once it has exited. */
export function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  } catch {
    return undefined;
  }
}

/** utime + stime, plus cutime + cstime (reaped children) when `withChildren`: state is [0], ppid [1], utime [11] ... cstime [14]. */
export function processTicks(pid, withChildren) {
  const fields = statFields(pid);
  if (!fields) return 0;
  return fields[11] + fields[12] + (withChildren ? fields[13] + fields[14] : 0);
}

/** Descendants of `roots` (not the roots themselves), from the parent pid of every process. */
export function descendantsOf(roots) {
  const childrenOf = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = statFields(entry)?.[1];
    if (ppid !== undefined) childrenOf.set(ppid, [...(childrenOf.get(ppid) ?? []), Number(entry)]);
  }
  const found = [];
  const pending = [...roots];
  while (pending.length > 0) {
    for (const child of childrenOf.get(pending.pop()) ?? []) {
      found.push(child);
      pending.push(child);
    }
  }
  return found;
}

/** CPU microseconds the server rooted at `pid` has used so far, its exited workers included. */
export function cpuMicros(pid) {
  return [pid, ...descendantsOf([pid])].reduce((sum, each) => sum + processTicks(each, true), 0) * MICROS_PER_TICK;
}

/** A /proc/<pid>/status field in kB (VmRSS now, VmHWM the peak), summed over the server's processes, in bytes. */
function statusBytes(pid, field) {
  let total = 0;
  for (const each of [pid, ...descendantsOf([pid])]) {
    try {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${each}/status`, 'utf8'));
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}

/** Resident memory now. Pages shared between a server's processes count once per process. */
export const rssBytes = (pid) => statusBytes(pid, 'VmRSS');
/** The highest resident memory each process has had (the kernel's high-water mark). */
export const peakRssBytes = (pid) => statusBytes(pid, 'VmHWM');

/**
 * Runs `measure` (a load generator resolving with `{ requests, ... }`) and adds the server's own CPU microseconds
 * per request over that window, and its resident memory at the end.
 */
export async function withServerUsage(server, measure) {
  const before = cpuMicros(server.pid);
  const result = await measure();
  return { ...result, cpuUsPerRequest: (cpuMicros(server.pid) - before) / result.requests, rssBytes: rssBytes(server.pid) };
}
