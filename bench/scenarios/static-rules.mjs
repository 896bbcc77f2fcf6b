import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { METRICS } from '../../dist/observability/catalog/metrics.js';
import { ISSUER } from './workloads.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
export const FIXTURE = new URL('./fixtures/static-rules.yaml', import.meta.url).pathname;
/** Prometheus's scrape and evaluation interval in the replay. */
const SCRAPE_S = 15;
/** How often the replay asks promtool which alerts fire. */
const PROBE_S = 30;
/** What a scrape adds to every series (the rules may select or aggregate on them). */
const TARGET = { job: 'tokenwatch', namespace: 'payments', pod: 'payments-0' };

/** The kind of anomaly each static alert reports. Alerts not named here still count, as `other`. */
export const STATIC_KINDS = { UnusualTokenIssuance: 'issuance', ForgedTokenBurst: 'failure', TokenValidationFailures: 'failure', AuthorizationServerDown: 'idp' };

/** The shipped rule files (alerts/*.yaml holding `groups:`), or the fixture while there are none. */
export function staticRuleFiles() {
  const dir = join(ROOT, 'alerts');
  const shipped = existsSync(dir)
    ? readdirSync(dir)
        .filter((file) => /\.ya?ml$/.test(file))
        .map((file) => join(dir, file))
        .filter((file) => Array.isArray(parse(readFileSync(file, 'utf8'))?.groups))
    : [];
  return shipped.length > 0 ? { files: shipped, source: 'alerts/' } : { files: [FIXTURE], source: 'bench/scenarios/fixtures/static-rules.yaml (alerts/ has no rule file yet)' };
}

function alertNames(files) {
  const names = new Set();
  for (const file of files) for (const group of parse(readFileSync(file, 'utf8')).groups) for (const rule of group.rules ?? []) if (rule.alert) names.add(rule.alert);
  return [...names];
}

function promLabels(labels) {
  return `{${Object.entries({ ...labels, ...TARGET }).map(([name, value]) => `${name}="${value}"`).join(',')}}`;
}

/** A counter scraped every 15 s: the running total at each scrape. */
function counterValues(counts, durationS) {
  const values = [];
  let total = 0;
  for (let second = 0; second <= durationS; second++) {
    if (second % SCRAPE_S === 0) values.push(total);
    if (second < durationS) total += counts[second];
  }
  return values.join(' ');
}

function idpUpValues(probes, durationS) {
  const values = [];
  let next = 0;
  let up = 1;
  for (let second = 0; second <= durationS; second += SCRAPE_S) {
    while (next < probes.length && probes[next].second <= second) up = probes[next++].ok ? 1 : 0;
    values.push(up);
  }
  return values.join(' ');
}

function inputSeries(workload) {
  const { durationS } = workload;
  const series = [];
  for (const { labels, counts } of workload.issuance) series.push({ series: `${METRICS.tokenIssuance.name}${promLabels(labels)}`, values: counterValues(counts, durationS) });
  const failed = new Float64Array(durationS);
  for (const { labels, counts } of workload.failures) {
    series.push({ series: `${METRICS.tokenValidationFailure.name}${promLabels(labels)}`, values: counterValues(counts, durationS) });
    for (let second = 0; second < durationS; second++) failed[second] += counts[second];
  }
  const succeeded = workload.validations.map((count, second) => Math.max(0, count - failed[second]));
  series.push({ series: `${METRICS.tokenValidation.name}${promLabels({ result: 'success', issuer: ISSUER })}`, values: counterValues(succeeded, durationS) });
  series.push({ series: `${METRICS.tokenValidation.name}${promLabels({ result: 'failure', issuer: ISSUER })}`, values: counterValues(failed, durationS) });
  series.push({ series: `${METRICS.idpUp.name}${promLabels({ issuer: ISSUER })}`, values: idpUpValues(workload.probes, durationS) });
  return series;
}

function seconds(text) {
  let total = 0;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s|d)/g)) total += Number(value) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 }[unit];
  return total;
}

/**
 * Evaluates the static rules over the workload's series with `promtool test rules` in virtual time: one test whose
 * alert_rule_test entries expect no alert at every probe time, so promtool lists every alert that does fire, and
 * when. Returns alert instances with when they fired and resolved (seconds into the workload, to the probe).
 */
export function replayStaticRules(workload, files) {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-scenarios-'));
  try {
    const names = alertNames(files);
    const probes = [];
    for (let at = PROBE_S; at <= workload.durationS; at += PROBE_S) for (const alertname of names) probes.push({ eval_time: `${at}s`, alertname, exp_alerts: [] });
    const test = {
      rule_files: files.map((file) => resolve(file)),
      evaluation_interval: `${SCRAPE_S}s`,
      tests: [{ interval: `${SCRAPE_S}s`, input_series: inputSeries(workload), alert_rule_test: probes }],
    };
    const testFile = join(dir, 'replay.test.yaml');
    writeFileSync(testFile, stringify(test, { lineWidth: 0 }));
    const run = spawnSync('promtool', ['test', 'rules', testFile], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
    if (run.error) throw new Error(`promtool is needed for the static rules: apt-get install -y prometheus (${run.error.message})`);
    const output = `${run.stdout}${run.stderr}`;
    if (run.status !== 0 && !output.includes('FAILED:')) throw new Error(`promtool test rules failed:\n${output.slice(0, 4000)}`);
    return instancesFrom(firingByProbe(output), workload.durationS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** promtool's report: for each failed probe, the alerts it got. */
function firingByProbe(output) {
  const firing = new Map();
  const blocks = output.split(/\n\s*alertname: /).slice(1);
  for (const block of blocks) {
    const head = /^(\S+), time: ([^,]+),/.exec(block);
    if (!head) continue;
    const at = seconds(head[2]);
    const got = block.slice(block.indexOf('got:'));
    for (const match of got.matchAll(/Labels:\{([^}]*)\}/g)) {
      const labels = Object.fromEntries([...match[1].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]));
      const key = JSON.stringify(labels);
      if (!firing.has(key)) firing.set(key, { labels, times: new Set() });
      firing.get(key).times.add(at);
    }
  }
  return firing;
}

function instancesFrom(firing, durationS) {
  const instances = [];
  for (const { labels, times } of firing.values()) {
    let open;
    for (let at = PROBE_S; at <= durationS; at += PROBE_S) {
      if (times.has(at) && !open) {
        open = { alertname: labels.alertname, labels, firedS: at, resolvedS: undefined };
        instances.push(open);
      } else if (!times.has(at) && open) {
        open.resolvedS = at;
        open = undefined;
      }
    }
  }
  return instances;
}
