/** Medians across runs: each figure is the median of that figure's values, never one run's figures. */

export function median(values) {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Runs are `{ rps, cpuUsPerRequest?, latencyUs?: { p50, p90, p99 }, others?: { serverCore, loadCore } }`; the summary has the median of each and the rps spread. */
export function summarizeRuns(runs) {
  const rps = runs.map((run) => run.rps);
  const summary = { runs: runs.length, rps: median(rps), rpsSpread: (Math.max(...rps) - Math.min(...rps)) / median(rps) };
  if (runs[0].others) {
    summary.others = { serverCore: median(runs.map((run) => run.others.serverCore)), loadCore: median(runs.map((run) => run.others.loadCore)) };
  }
  if (runs[0].cpuUsPerRequest !== undefined) summary.cpuUsPerRequest = median(runs.map((run) => run.cpuUsPerRequest));
  if (runs[0].latencyUs) {
    summary.latencyUs = Object.fromEntries(['p50', 'p90', 'p99'].map((p) => [p, median(runs.map((run) => run.latencyUs[p]))]));
  }
  return summary;
}
