/**
 * Plain-text tables of a suite's result. A suite returns `{ sections, targets, notes }`; a section is
 * `{ title, baseline, rows }` where each row is `{ id, label, rps, rpsSpread, cpuUsPerRequest?, latencyUs?: { p50, p90, p99 } }`
 * and ratios are taken to the row whose id is `baseline`; or `{ title, columns, cells }`, a plain table. `CPU µs/req`
 * is the server's own CPU time per request, from the kernel's accounting of its processes (process-usage.mjs):
 * unlike req/s it does not depend on where the load generator and the upstream run. `±` is half the rps range across runs, relative to the
 * median; `others s/l` is the median share of the server core / load core that other work on the machine used meanwhile.
 */

export const formatRps = (value) => Math.round(value).toLocaleString('en');
export const formatMs = (microseconds) => (microseconds / 1000).toFixed(3);
export const formatPercent = (ratio) => `${(ratio * 100).toFixed(1)}%`;
const formatRatio = (ratio) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '-');

const PERCENTILES = ['p50', 'p90', 'p99'];

export const formatCpu = (microseconds) => (microseconds === undefined ? '-' : microseconds.toFixed(1));

export function renderSection(section) {
  if (section.columns) return [section.title, ...table([section.columns, ...section.cells])].join('\n');
  const baseline = section.rows.find((row) => row.id === section.baseline);
  const cpu = section.rows.some((row) => row.cpuUsPerRequest !== undefined);
  const header = ['scenario', 'req/s', '±', ...(cpu ? ['CPU µs/req'] : []), ...PERCENTILES.map((p) => `${p} ms`), 'req/s ratio', ...PERCENTILES.map((p) => `${p} ratio`), 'others s/l'];
  const lines = section.rows.map((row) => [
    row.label,
    formatRps(row.rps),
    `${Math.round((row.rpsSpread * 100) / 2)}%`,
    ...(cpu ? [formatCpu(row.cpuUsPerRequest)] : []),
    ...PERCENTILES.map((p) => (row.latencyUs ? formatMs(row.latencyUs[p]) : '-')),
    formatRatio(row.rps / baseline.rps),
    ...PERCENTILES.map((p) => (row.latencyUs && baseline.latencyUs ? formatRatio(row.latencyUs[p] / baseline.latencyUs[p]) : '-')),
    row.others ? `${Math.round(row.others.serverCore * 100)}%/${Math.round(row.others.loadCore * 100)}%` : '-',
  ]);
  return [`${section.title} (ratios to: ${baseline.label})`, ...table([header, ...lines])].join('\n');
}

export function renderTargets(targets) {
  const rows = targets.map((target) => [target.name, target.measured, target.threshold, target.pass ? 'PASS' : 'FAIL']);
  return table([['target', 'measured', 'required', 'result'], ...rows], 'llll').join('\n');
}

/** `align` has one letter per column, l or r; by default the first column is left-aligned and numbers right. */
function table(rows, align = `l${'r'.repeat(rows[0].length - 1)}`) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  const render = (row) =>
    row.map((cell, column) => (align[column] === 'l' ? String(cell).padEnd(widths[column]) : String(cell).padStart(widths[column]))).join('  ').trimEnd();
  return [render(rows[0]), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.slice(1).map(render)];
}
