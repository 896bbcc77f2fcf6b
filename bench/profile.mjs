#!/usr/bin/env node
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR, SUITES, benchOptions, loadSuites, runBench } from './lib/cli.mjs';
import { renderProfile, summarizeProfile } from './lib/cpu-profile.mjs';
import { formatMs, formatRps } from './lib/report.mjs';

/**
 * node bench/profile.mjs suite:scenario...     e.g. node bench/profile.mjs authz:hit authz:miss
 *
 * Runs one saturation scenario against a tokenwatch server started with `node --cpu-prof` (same pinning, warm-up
 * and BENCH_* settings as npm run bench), then prints where its CPU time went. Profiles are kept under
 * bench/results/profiles-<timestamp>/ for Chrome DevTools or speedscope. Profiling slows the server: the req/s
 * printed here is not a benchmark figure.
 */

const out = (text = '') => process.stdout.write(`${text}\n`);

runBench(async (workDir) => {
  const requests = process.argv.slice(2).map((text) => {
    const [suite, scenario] = text.split(':');
    if (!suite || !scenario) throw new Error(`expected suite:scenario, got ${text}`);
    return { suite, scenario };
  });
  if (requests.length === 0) {
    const lines = await Promise.all(
      Object.entries(SUITES).map(async ([name, load]) => `  ${name}: ${((await load()).profileScenarios ?? []).join(', ')}`),
    );
    throw new Error(`usage: node bench/profile.mjs suite:scenario...\n${lines.join('\n')}`);
  }
  const suites = await loadSuites([...new Set(requests.map((request) => request.suite))]);
  const options = benchOptions();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');

  for (const { suite, scenario } of requests) {
    const profileDir = join(RESULTS_DIR, `profiles-${stamp}`, `${suite}-${scenario}`);
    const progress = (text) => process.stderr.write(`  [${suite}:${scenario}] ${text}\n`);
    const { label, result } = await suites[suite].profile(scenario, { options, workDir, progress, profileDir });
    const files = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'));
    if (files.length !== 1) throw new Error(`expected one profile in ${profileDir}, found ${files.length}`);
    out(`== ${suite}:${scenario}  ${label}`);
    out(`under the profiler: ${formatRps(result.rps)} req/s, p50 ${formatMs(result.latencyUs.p50)} ms`);
    out(`profile: ${join(profileDir, files[0])}`);
    out();
    out(renderProfile(summarizeProfile(join(profileDir, files[0]))));
    out();
  }
});
