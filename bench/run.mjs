#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { LOAD_CORE, SERVER_CORE } from './lib/children.mjs';
import { RESULTS_DIR, SUITES, benchOptions, commandOutput, loadSuites, runBench } from './lib/cli.mjs';
import { renderSection, renderTargets } from './lib/report.mjs';

/**
 * npm run bench [-- suite...]   (default: every suite)
 *
 * Servers run on core 0; load generators, and this orchestrator (idle while measuring), on core 1.
 * Environment: BENCH_DURATION (5s), BENCH_WARMUP (2s), BENCH_RUNS (3), BENCH_CONNECTIONS (50), BENCH_RATE (1000).
 * Prints one table per suite and writes every figure, runs included, to bench/results/<timestamp>.json.
 */

function machineFacts() {
  const commit = commandOutput('git', ['rev-parse', '--short', 'HEAD']);
  const modified = commandOutput('git', ['status', '--porcelain', '--', 'src']) ? ' (src/ modified)' : '';
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    kernel: release(),
    wrk: commandOutput('wrk', ['-v'])?.split('\n')[0],
    commit: commit ? `${commit}${modified}` : 'unknown',
    loadAverageAtStart: loadavg(),
  };
}

const formatLoad = (load) => load.map((value) => value.toFixed(2)).join(' ');
const out = (text = '') => process.stdout.write(`${text}\n`);

runBench(async (workDir) => {
  const requested = process.argv.slice(2);
  const suites = await loadSuites(requested.length > 0 ? requested : Object.keys(SUITES));
  const options = benchOptions();
  const facts = machineFacts();
  const startedAt = new Date();

  out(`tokenwatch bench  ${startedAt.toISOString()}  commit ${facts.commit}`);
  out(`node ${facts.node}  ${facts.cpu}  ${facts.cores} cores  linux ${facts.kernel}  ${facts.wrk ?? ''}`);
  out(`servers on core ${SERVER_CORE}, load generators on core ${LOAD_CORE}; medians of ${options.runs} run(s) x ${options.durationMs / 1000} s, each after ${options.warmupMs / 1000} s of warm-up`);
  const busy = facts.loadAverageAtStart[0] > 0.5 ? '  (other work is running on this machine: figures are noisier)' : '';
  out(`load average at start: ${formatLoad(facts.loadAverageAtStart)}${busy}`);

  const results = {};
  for (const [name, suite] of Object.entries(suites)) {
    out();
    out(`== ${name}: ${suite.description}`);
    const started = performance.now();
    const result = await suite.run({ options, workDir, progress: (text) => process.stderr.write(`  [${name}] ${text}\n`) });
    results[name] = { ...result, seconds: Math.round((performance.now() - started) / 1000) };
    for (const section of result.sections) {
      out();
      out(renderSection(section));
    }
    out();
    out(renderTargets(result.targets));
    for (const note of result.notes) out(`  * ${note}`);
  }

  const targets = Object.entries(results).flatMap(([name, result]) => result.targets.map((target) => ({ suite: name, ...target })));
  const failed = targets.filter((target) => !target.pass);
  const seconds = Math.round((Date.now() - startedAt.getTime()) / 1000);
  const loadAverageAtEnd = loadavg();
  out();
  out(`== summary: ${targets.length - failed.length}/${targets.length} targets met in ${seconds} s; load average at end: ${formatLoad(loadAverageAtEnd)}`);
  for (const target of failed) out(`  FAIL ${target.suite}: ${target.name}: ${target.measured}, required ${target.threshold}`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ startedAt, facts, options, seconds, loadAverageAtEnd, suites: results }, null, 2)}\n`);
  out(`results: ${file}`);
});
