import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOAD_CORE } from '../lib/children.mjs';
import { saturate } from '../lib/loadgen.mjs';
import { formatMs, formatPercent, formatRps } from '../lib/report.mjs';
import { startServer } from '../lib/servers.mjs';
import { summarizeRuns } from '../lib/stats.mjs';
import { AUDIENCE, SCOPE, createRs256Key, signTokens, startJwksServer, writeTokenFile } from '../lib/tokens.mjs';

/**
 * What telemetry costs on the request path: forward-auth (`mode: authz`) with the hot token (a cache hit), the
 * same tokenwatch three times: with no telemetry per validation, with metrics and the audit log, and with tracing
 * on top (10% parent-based sampler, exporting to a loopback OTLP sink). Compared with itself, in one run.
 */

export const description = 'telemetry on the request path: metrics + audit log, tracing at 10%';

const REQUEST = { path: '/authz', headers: { 'X-Original-Method': 'GET', 'X-Original-URI': '/api/orders/42' } };
const TRACING_OFF = { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', OTEL_SDK_DISABLED: 'true' };
const SAMPLER_ARG = '0.1';

/** The three variants; `args` go to bench/servers/tokenwatch.mjs. */
const SCENARIOS = [
  { id: 'off', label: 'all telemetry off (observeValidations: false)', args: ['--no-observe-validations'], tracing: false },
  { id: 'observed', label: 'metrics + audit log (every success logged)', args: [], tracing: false },
  { id: 'traced', label: `metrics + audit log + tracing, ${Number(SAMPLER_ARG) * 100}% sampled`, args: [], tracing: true },
];

const TARGETS = { observed: 0.9, traced: 0.8 };

export function checkPrerequisites() {
  const sidecar = fileURLToPath(new URL('../../dist/main/sidecar.js', import.meta.url));
  if (!existsSync(sidecar)) return 'dist/ is missing: build first (npx tsc -p tsconfig.build.json, or npm run bench)';
  return undefined;
}

function tokenwatchConfig(jwks) {
  return {
    mode: 'authz',
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    logLevel: 'info',
    auditLog: { successSampleRate: 1 },
    issuers: [{ issuer: jwks.issuer, jwksUri: jwks.jwksUri, audiences: [AUDIENCE] }],
    routes: [{ path: '/api/orders/**', methods: ['GET'], scopes: [SCOPE] }],
    defaultRoute: 'deny',
  };
}

/** Log files go to tmpfs when there is one: what a container runtime's log pipe costs is not tokenwatch's. */
async function logDirectory(workDir) {
  return existsSync('/dev/shm') ? mkdtemp('/dev/shm/tokenwatch-bench-logs-') : workDir;
}

async function prepareFixtures(workDir, progress) {
  progress('signing the RS256 token');
  const key = createRs256Key();
  const jwks = await startJwksServer(key.publicJwk);
  const [hot] = await signTokens(key, jwks.issuer, 1);
  return { jwks, hot, logDir: await logDirectory(workDir), load: { ...REQUEST, tokensFile: await writeTokenFile(workDir, 'hot.txt', [hot]) } };
}

/** The OTLP sink outlives the rounds: it counts every span that any round's tokenwatch exported. */
async function startSink(scenarios, progress) {
  if (!scenarios.some((scenario) => scenario.tracing)) return undefined;
  progress(`starting the OTLP sink on core ${LOAD_CORE}`);
  return startServer('otlp sink', 'otlp-sink', { core: LOAD_CORE });
}

/** One tokenwatch process per variant, each logging to its own file (`<variant>-<round>.log`). */
async function startTokenwatches(scenarios, fixtures, sink, round, progress, profileDir) {
  const servers = {};
  try {
    for (const scenario of scenarios) {
      progress(`starting tokenwatch, ${scenario.label}`);
      const tracingEnv = scenario.tracing
        ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: SAMPLER_ARG }
        : TRACING_OFF;
      const logFile = join(fixtures.logDir, `${scenario.id}-${round}.log`);
      const server = await startServer(`tokenwatch-${scenario.id}`, 'tokenwatch', {
        args: scenario.args,
        profileDir,
        env: { ...tracingEnv, BENCH_TOKENWATCH_CONFIG: JSON.stringify(tokenwatchConfig(fixtures.jwks)), BENCH_LOG_FILE: logFile },
      });
      servers[scenario.id] = { ...server, logFile };
    }
    return servers;
  } catch (error) {
    await stopServers(servers);
    throw error;
  }
}

/** `items` starting at index `by` (mod length). */
const rotated = (items, by) => items.map((_, index) => items[(index + by) % items.length]);

/** On SIGTERM tokenwatch flushes its log and its last spans (to the sink, which is still there) before it exits. */
const stopServers = (servers) => Promise.all(Object.values(servers).map((server) => server.stop()));

/** Lines in a log file with `token_validated` in them, read in chunks (the files grow to hundreds of MB). */
function auditLines(file) {
  if (!existsSync(file)) return 0;
  const needle = Buffer.from('"event":"token_validated"');
  const chunk = Buffer.alloc(16 * 1024 * 1024);
  const fd = openSync(file, 'r');
  let count = 0;
  let carry = Buffer.alloc(0);
  try {
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      const text = Buffer.concat([carry, chunk.subarray(0, read)]);
      for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count += 1;
      carry = Buffer.from(text.subarray(Math.max(0, text.length - needle.length + 1)));
    }
  } finally {
    closeSync(fd);
  }
  return count;
}

/** The hot token must be allowed, and each variant must do what its label says: log, or not, per validation. */
async function probe(scenario, server, fixtures) {
  const before = auditLines(server.logFile);
  const response = await fetch(`${server.url}${REQUEST.path}`, { headers: { ...REQUEST.headers, authorization: `Bearer ${fixtures.hot}` } });
  await response.text();
  if (response.status !== 200) throw new Error(`probe of ${scenario.label} answered ${response.status}; expected 200`);
  // The logger writes its batch at the latest every 250 ms (src/telemetry/logger.ts): wait for it, then a little more
  // so that a second, unexpected line would show too.
  const expected = scenario.args.includes('--no-observe-validations') ? 0 : 1;
  const deadline = Date.now() + 2000;
  while (auditLines(server.logFile) - before < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 400));
  const logged = auditLines(server.logFile) - before;
  if (logged !== expected) throw new Error(`probe of ${scenario.label}: ${logged} audit line(s) for one validation; expected ${expected}`);
}

async function measure(server, fixtures, { warmupMs, durationMs, connections }) {
  const target = { url: server.url, load: fixtures.load, expect: 'ok', connections };
  const warmup = await saturate({ ...target, durationMs: warmupMs });
  const result = await saturate({ ...target, durationMs });
  return { ...result, sent: warmup.requests + result.requests };
}

export async function run({ options, workDir, progress }) {
  const { runs } = options;
  const fixtures = await prepareFixtures(workDir, progress);
  let sink;
  let servers = {};
  try {
    sink = await startSink(SCENARIOS, progress);
    const measured = {};
    const delivered = { sent: {}, auditLines: {} };
    for (let round = 1; round <= runs; round += 1) {
      // A fresh process per variant and round, started just before it is measured: a process's speed depends on
      // where its memory landed, and on its history. V8 shrinks the young generation of a process left idle, and a
      // process that then takes load runs with more scavenges for the rest of its life (docs/benchmarks.md), so a
      // variant that waited while the others were measured would pay for the wait. The order rotates every round.
      for (const scenario of rotated(SCENARIOS, round - 1)) {
        servers = await startTokenwatches([scenario], fixtures, sink, round, progress);
        const server = servers[scenario.id];
        await probe(scenario, server, fixtures);
        const result = await measure(server, fixtures, options);
        (measured[scenario.id] ??= []).push(result);
        // The probe's request counts too: it is one more validation, and one more audit line.
        delivered.sent[scenario.id] = (delivered.sent[scenario.id] ?? 0) + result.sent + 1;
        progress(`run ${round}/${runs}  ${scenario.label.padEnd(48)} ${formatRps(result.rps)} req/s  p50 ${formatMs(result.latencyUs.p50)} ms`);
        await stopServers(servers);
        servers = {};
        delivered.auditLines[scenario.id] = (delivered.auditLines[scenario.id] ?? 0) + auditLines(server.logFile);
      }
    }
    delivered.sink = sink ? await (await fetch(`${sink.url}/stats`)).json() : { spans: 0, requests: 0 };
    return { ...report(measured, delivered, options), raw: { measured, delivered } };
  } finally {
    await stopServers(servers);
    await sink?.stop();
    await fixtures.jwks.stop();
    if (fixtures.logDir !== workDir) await rm(fixtures.logDir, { recursive: true, force: true });
  }
}

export const profileScenarios = SCENARIOS.map((scenario) => scenario.id);

/** One variant at saturation against a server started with `node --cpu-prof`. */
export async function profile(scenarioId, { options, workDir, progress, profileDir }) {
  const scenario = SCENARIOS.find((candidate) => candidate.id === scenarioId);
  if (!scenario) throw new Error(`no telemetry scenario ${scenarioId}; one of: ${profileScenarios.join(', ')}`);
  const fixtures = await prepareFixtures(workDir, progress);
  let sink;
  let servers = {};
  try {
    sink = await startSink([scenario], progress);
    servers = await startTokenwatches([scenario], fixtures, sink, 1, progress, profileDir);
    await probe(scenario, servers[scenario.id], fixtures);
    progress(`profiling: ${scenario.label}`);
    return { label: scenario.label, result: await measure(servers[scenario.id], fixtures, options) };
  } finally {
    await stopServers(servers);
    await sink?.stop();
    await fixtures.jwks.stop();
    if (fixtures.logDir !== workDir) await rm(fixtures.logDir, { recursive: true, force: true });
  }
}

function report(measured, delivered, { connections }) {
  const rows = SCENARIOS.map((scenario) => ({ id: scenario.id, label: scenario.label, ...summarizeRuns(measured[scenario.id]) }));
  const find = (id) => rows.find((row) => row.id === id);
  const target = (id, name) => {
    const ratio = find(id).rps / find('off').rps;
    return {
      name,
      measured: `${formatPercent(ratio)} (${formatRps(find(id).rps)} vs ${formatRps(find('off').rps)} req/s)`,
      threshold: `>= ${formatPercent(TARGETS[id])}`,
      pass: ratio >= TARGETS[id],
    };
  };
  const share = (part, whole) => formatPercent(part / whole);
  const { sent, auditLines: lines, sink } = delivered;
  return {
    sections: [{ title: `Saturation: forward-auth, 1 hot RS256 token (cache hit), wrk 1 thread, ${connections} connections`, baseline: 'off', rows }],
    targets: [
      target('observed', 'metrics + audit log vs telemetry off'),
      target('traced', `+ tracing (${Number(SAMPLER_ARG) * 100}% parent-based) vs telemetry off`),
    ],
    notes: [
      'forward-auth as in the authz suite (route /api/orders/** needs read:orders), default token cache; the same tokenwatch build in all three rows, logLevel: info, auditLog.successSampleRate: 1.',
      `audit lines written, warm-ups and probes included: off ${formatRps(lines.off)} for ${formatRps(sent.off)} requests; metrics + audit log ${formatRps(lines.observed)} for ${formatRps(sent.observed)} (${share(lines.observed, sent.observed)}); tracing ${formatRps(lines.traced)} for ${formatRps(sent.traced)} (${share(lines.traced, sent.traced)}). The log goes to a file on tmpfs (pino, asynchronous), as stdout would to a file.`,
      `every round starts a fresh process per variant just before measuring it, in an order that rotates every round (a process's speed depends on where its memory landed and on how long it sat idle). tracing: OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=${SAMPLER_ARG}, requests without traceparent (the root sampler decides); OTLP/HTTP in protobuf (the default protocol) to a loopback sink on core ${LOAD_CORE}, which received ${formatRps(sink.spans)} spans in ${formatRps(sink.requests)} exports: ${share(sink.spans, sent.traced)} of the requests (the export worker's batch queue, OTEL_BSP_MAX_QUEUE_SIZE, drops what exceeds 2,048 spans waiting for an export; tracing_spans_dropped_total counts them).`,
      'tracing off in the first two rows: OTEL_SDK_DISABLED=true and no OTLP endpoint, so the SDK is never loaded.',
    ],
  };
}
