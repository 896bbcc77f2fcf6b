import { readFileSync } from 'node:fs';
import { LOAD_CORE, SERVER_CORE, pidsOnCore } from './children.mjs';
import { TICKS_PER_SECOND, descendantsOf, processTicks } from './process-usage.mjs';

/**
 * How busy each core was with work that is not the bench's during a load-generator run: the core's user, system
 * and steal time from /proc/stat minus the CPU time of the bench's processes pinned to it, as a share of the elapsed time.
 * Other jobs on the machine show up here, so a noisy figure can be told from a slow one. The load generator has
 * exited (and been reaped) by the end, so its CPU time is read from this process's children's time (cutime,
 * cstime), which is charged to the load core. Processes forked by a pinned child (NGINX and Apache workers) inherit
 * its core and count as the bench's own. Resolution: one clock tick, 10 ms.
 */

/**
 * user + nice + system + steal: steal is time the hypervisor gave to other guests, as lost to the bench. With
 * `withInterrupts`, irq + softirq too: the loopback TCP stack runs largely in softirq, charged to no process.
 */
function coreTicks(core, withInterrupts = false) {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((text) => text.startsWith(`cpu${core} `));
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return user + nice + system + steal + (withInterrupts ? irq + softirq : 0);
}

function ownTicks(core) {
  const roots = pidsOnCore(core);
  // The orchestrator's own descendants are its pinned children: they are roots already.
  const forked = descendantsOf(roots.filter((pid) => pid !== process.pid));
  return roots.reduce((sum, pid) => sum + processTicks(pid, pid === process.pid), 0) + forked.reduce((sum, pid) => sum + processTicks(pid, false), 0);
}

/**
 * Call just before starting a load generator; call what it returns once the generator has exited to get
 * `{ serverCore, loadCore }`: the share (0..1) of each core that other work used meanwhile; and
 * `busy: { serverCore, loadCore }`, the share each core was busy at all, interrupts and the bench's own work
 * included (a server core well below 100% busy at saturation means something else set the pace).
 */
export function watchOtherLoad() {
  const started = performance.now();
  const before = [SERVER_CORE, LOAD_CORE].map((core) => ({ core, total: coreTicks(core), all: coreTicks(core, true), own: ownTicks(core) }));
  return () => {
    const elapsedTicks = ((performance.now() - started) / 1000) * TICKS_PER_SECOND;
    const [serverCore, loadCore] = before.map(({ core, total, own }) =>
      Math.max(0, (coreTicks(core) - total - (ownTicks(core) - own)) / elapsedTicks),
    );
    const [serverBusy, loadBusy] = before.map(({ core, all }) => Math.min(1, (coreTicks(core, true) - all) / elapsedTicks));
    return { serverCore, loadCore, busy: { serverCore: serverBusy, loadCore: loadBusy } };
  };
}
