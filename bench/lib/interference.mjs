import { readFileSync } from 'node:fs';
import { LOAD_CORE, SERVER_CORE, pidsOnCore } from './children.mjs';

/**
 * How busy each core was with work that is not the bench's during a load-generator run: the core's user, system
 * and steal time from /proc/stat minus the CPU time of the bench's processes pinned to it, as a share of the elapsed time.
 * Other jobs on the machine show up here, so a noisy figure can be told from a slow one. The load generator has
 * exited (and been reaped) by the end, so its CPU time is read from this process's children's time (cutime,
 * cstime), which is charged to the load core. Resolution: one clock tick, 10 ms.
 */

const TICKS_PER_SECOND = 100;

/** user + nice + system + steal: steal is time the hypervisor gave to other guests, as lost to the bench. */
function coreTicks(core) {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((text) => text.startsWith(`cpu${core} `));
  const [user, nice, system, , , , , steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return user + nice + system + steal;
}

/** utime + stime, plus cutime + cstime (reaped children) when `withChildren`. */
function processTicks(pid, withChildren) {
  // Fields after the command name, which may itself contain spaces: state is [0], utime [11] ... cstime [14].
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return fields[11] + fields[12] + (withChildren ? fields[13] + fields[14] : 0);
}

function ownTicks(core) {
  return pidsOnCore(core).reduce((sum, pid) => sum + processTicks(pid, pid === process.pid), 0);
}

/**
 * Call just before starting a load generator; call what it returns once the generator has exited to get
 * `{ serverCore, loadCore }`: the share (0..1) of each core that other work used meanwhile.
 */
export function watchOtherLoad() {
  const started = performance.now();
  const before = [SERVER_CORE, LOAD_CORE].map((core) => ({ core, total: coreTicks(core), own: ownTicks(core) }));
  return () => {
    const elapsedTicks = ((performance.now() - started) / 1000) * TICKS_PER_SECOND;
    const [serverCore, loadCore] = before.map(({ core, total, own }) =>
      Math.max(0, (coreTicks(core) - total - (ownTicks(core) - own)) / elapsedTicks),
    );
    return { serverCore, loadCore };
  };
}
