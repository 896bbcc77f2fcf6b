import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOAD_CORE, SERVER_CORE, spawnPinned, stopChild } from '../lib/children.mjs';
import { fixedRate, saturate } from '../lib/loadgen.mjs';
import { cpuMicros, peakRssBytes, rssBytes } from '../lib/process-usage.mjs';
import { formatCpu, formatRps } from '../lib/report.mjs';
import { startBareFastify, startServer, startUpstream } from '../lib/servers.mjs';
import { median } from '../lib/stats.mjs';
import { AUDIENCE, SCOPE, createRs256Key, signTokens, startJwksServer, writeTokenFile } from '../lib/tokens.mjs';

/**
 * What one tokenwatch sidecar costs a pod: resident memory idle, at a steady 1,000 req/s and at saturation, and CPU
 * per request, in both modes, with tracing off and on. tokenwatch runs exactly as the image runs it: the script of
 * the Dockerfile's ENTRYPOINT (the bundle, `bundle/cli.js run --config`), on the Node.js of BENCH_NODE (the image's
 * Node 24 when given), with the ENTRYPOINT's V8 flags, logging to a file as stdout would. One row runs without those
 * flags, and one runs the unbundled `dist/`, to show what each buys. A bare Node.js HTTP server and bare fastify give
 * the floor.
 */

export const description = 'footprint: resident memory and CPU per request of one sidecar, both modes, tracing off/on';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = fileURLToPath(new URL('../../Dockerfile', import.meta.url));
const STEADY_RATE = 1000;
const MB = 1024 * 1024;
const TARGETS = { idleMb: 64, steadyMb: 80, vcpuPer1000: 0.1 };
const SAMPLER_ARG = '0.1';
const READY_TIMEOUT_MS = 20_000;
/** How long a fresh process sits before its idle memory is read: start-up garbage has been collected by then. */
const IDLE_SETTLE_MS = 5_000;

const AUTHZ_LOAD = { path: '/', headers: { 'X-Forwarded-Method': 'GET', 'X-Forwarded-Uri': '/api/orders/42' } };
const PROXY_LOAD = { path: '/api/orders/42', headers: {} };

const VARIANTS = [
  { id: 'proxy', label: 'proxy, tracing off', mode: 'proxy', tracing: false, imageFlags: true },
  { id: 'proxy-traced', label: `proxy, tracing on (ratio ${SAMPLER_ARG})`, mode: 'proxy', tracing: true, imageFlags: true },
  { id: 'authz', label: 'forward-auth, tracing off', mode: 'authz', tracing: false, imageFlags: true },
  { id: 'authz-traced', label: `forward-auth, tracing on (ratio ${SAMPLER_ARG})`, mode: 'authz', tracing: true, imageFlags: true },
  { id: 'proxy-no-flags', label: 'proxy, tracing off, no image flags', mode: 'proxy', tracing: false, imageFlags: false },
  { id: 'proxy-unbundled', label: 'proxy, tracing off, dist/ instead of the bundle', mode: 'proxy', tracing: false, imageFlags: true, unbundled: true },
  // The floor of the runtime: what any Node.js reverse proxy costs here, on the same binary, flags and core.
  { id: 'bare-proxy', label: 'floor: bare Node.js proxy (node:http, keep-alive agent, no auth)', mode: 'proxy', tracing: false, imageFlags: true, floor: true },
];

/**
 * How the image starts node: the flags between `node` and the script in the Dockerfile's exec-form ENTRYPOINT, and
 * the runtime stage's ENV (`ENV NAME=value` lines).
 */
export function imageRuntime(dockerfile = readFileSync(DOCKERFILE, 'utf8')) {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const line = runtime.split('\n').find((text) => text.startsWith('ENTRYPOINT '));
  const entrypoint = JSON.parse(line.slice('ENTRYPOINT '.length));
  const env = Object.fromEntries(
    runtime
      .split('\n')
      .filter((text) => text.startsWith('ENV '))
      .flatMap((text) => text.slice(4).trim().split(/\s+/))
      .map((pair) => pair.split('=')),
  );
  const script = entrypoint.findIndex((arg) => arg.endsWith('cli.js'));
  return { flags: entrypoint.slice(1, script), script: join(ROOT, entrypoint[script].replace(/^\/app\//, '')), env };
}

/** The heap as the process itself reports it on /metrics (prom-client's runtime metrics). */
async function heapFigures(adminUrl) {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const value = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { heapTotal: value('nodejs_heap_size_total_bytes'), heapUsed: value('nodejs_heap_size_used_bytes'), external: value('nodejs_external_memory_bytes') };
}

const nodeBinary = () => process.env.BENCH_NODE || process.execPath;
/** BENCH_FOOTPRINT_STEADY: how long the 1,000 req/s phase lasts (default 60s, as the issue states the figure). */
const steadyMs = () => {
  const text = process.env.BENCH_FOOTPRINT_STEADY || '60s';
  const match = /^(\d+)(s|m)$/.exec(text);
  if (!match) throw new Error(`BENCH_FOOTPRINT_STEADY=${text}: expected a duration such as 20s or 1m`);
  return Number(match[1]) * (match[2] === 'm' ? 60_000 : 1000);
};

export function checkPrerequisites() {
  const { script } = imageRuntime();
  if (!existsSync(script)) return `${script} is missing: bundle first (npm run bench builds and bundles)`;
  return undefined;
}

/** tokenwatch started by its CLI from a configuration file, its log (stdout) going to a file. */
async function startCli(name, config, { workDir, nodeFlags, script, env }) {
  const configFile = join(workDir, `${name}.json`);
  const logFile = join(workDir, `${name}.log`);
  writeFileSync(configFile, JSON.stringify(config));
  const log = openSync(logFile, 'w');
  const child = spawnPinned(SERVER_CORE, nodeBinary(), [...nodeFlags, script, 'run', '--config', configFile], { env: { ...process.env, ...env }, stdio: ['ignore', log, 'pipe'] });
  closeSync(log);
  const stop = () => stopChild(child);
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const started = readFileSync(logFile, 'utf8').split('\n').find((line) => line.includes('"event":"started"'));
      if (started) {
        const { listen, admin } = JSON.parse(started);
        if ((await fetch(`${admin}/readyz`)).ok) return { name, pid: child.pid, url: listen, adminUrl: admin, stop };
      }
      if (child.exitCode !== null) throw new Error(`${name} exited: ${child.stderrText}`);
      if (Date.now() > deadline) throw new Error(`${name} not ready within ${READY_TIMEOUT_MS} ms: ${child.stderrText}`);
      await sleep(50);
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resident memory every second while `measure` runs: the highest sample, and the last. */
async function sampledRss(pid, measure) {
  const samples = [];
  const timer = setInterval(() => samples.push(rssBytes(pid)), 1000);
  try {
    const result = await measure();
    samples.push(rssBytes(pid));
    return { result, highest: Math.max(...samples), last: samples.at(-1) };
  } finally {
    clearInterval(timer);
  }
}

function tokenwatchConfig(variant, jwks, upstreamUrl) {
  return {
    mode: variant.mode,
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    ...(variant.mode === 'proxy' ? { upstream: upstreamUrl } : { authz: { requestSource: 'x-forwarded' } }),
    issuers: [{ issuer: jwks.issuer, jwksUri: jwks.jwksUri, audiences: [AUDIENCE] }],
    routes: [{ path: '/api/orders/**', scopes: [SCOPE] }],
  };
}

async function measureVariant(variant, { jwks, upstream, sink, load, options, workDir, progress }) {
  const env = variant.tracing
    ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: SAMPLER_ARG }
    : { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', OTEL_SDK_DISABLED: 'true' };
  const runtime = imageRuntime();
  const image = variant.imageFlags ? runtime : { flags: [], env: {} };
  const script = variant.unbundled ? join(ROOT, 'dist/main/cli.js') : runtime.script;
  const server = variant.floor
    ? await startServer(variant.id, 'bare-proxy', { args: [upstream.url], node: nodeBinary(), nodeArgs: runtime.flags, env: runtime.env })
    : await startCli(variant.id, tokenwatchConfig(variant, jwks, upstream.url), { workDir, nodeFlags: image.flags, script, env: { ...image.env, ...env } });
  try {
    await sleep(IDLE_SETTLE_MS);
    const idle = rssBytes(server.pid);
    const target = { url: server.url, load: variant.mode === 'authz' ? load.authz : load.proxy, expect: 'ok' };
    progress(`${variant.label}: idle ${(idle / MB).toFixed(1)} MB; ${STEADY_RATE} req/s for ${steadyMs() / 1000} s`);
    const cpuBefore = cpuMicros(server.pid);
    const steady = await sampledRss(server.pid, () => fixedRate({ ...target, rate: STEADY_RATE, warmupMs: options.warmupMs, durationMs: steadyMs() }));
    // The warm-up ran at the same rate: CPU over both phases, per request of both.
    const steadyRequests = steady.result.requests * (1 + options.warmupMs / steadyMs());
    const steadyCpuUs = (cpuMicros(server.pid) - cpuBefore) / steadyRequests;
    const heap = server.adminUrl ? await heapFigures(server.adminUrl) : { heapTotal: Number.NaN, heapUsed: Number.NaN };
    const saturationCpuBefore = cpuMicros(server.pid);
    const saturation = await sampledRss(server.pid, () => saturate({ ...target, connections: options.connections, durationMs: options.durationMs }));
    const saturationCpuUs = (cpuMicros(server.pid) - saturationCpuBefore) / saturation.result.requests;
    const row = {
      id: variant.id,
      label: variant.label,
      idle,
      steady: steady.last,
      steadyHighest: steady.highest,
      steadyCpuUs,
      steadyHeapTotal: heap.heapTotal,
      steadyHeapUsed: heap.heapUsed,
      vcpuPer1000: (steadyCpuUs * 1000) / 1e6,
      saturationRps: saturation.result.rps,
      saturationCpuUs,
      saturation: saturation.highest,
      peak: peakRssBytes(server.pid),
    };
    progress(`${variant.label}: steady ${(row.steady / MB).toFixed(1)} MB, ${row.vcpuPer1000.toFixed(3)} vCPU/1000 req/s; saturation ${formatRps(row.saturationRps)} req/s, ${(row.saturation / MB).toFixed(1)} MB`);
    return row;
  } finally {
    await server.stop();
  }
}

async function idleReference(start, label) {
  const server = await start();
  try {
    await sleep(IDLE_SETTLE_MS);
    return { label, idle: rssBytes(server.pid) };
  } finally {
    await server.stop();
  }
}

export async function run({ options, workDir, progress }) {
  const key = createRs256Key();
  const jwks = await startJwksServer(key.publicJwk);
  const [hot] = await signTokens(key, jwks.issuer, 1);
  const tokensFile = await writeTokenFile(workDir, 'hot.txt', [hot]);
  const load = { proxy: { ...PROXY_LOAD, tokensFile }, authz: { ...AUTHZ_LOAD, tokensFile } };
  const upstream = await startUpstream('upstream', LOAD_CORE);
  const sink = await startServer('otlp sink', 'otlp-sink', { core: LOAD_CORE });
  try {
    const rounds = [];
    for (let round = 1; round <= options.runs; round += 1) {
      const rows = [];
      for (const variant of VARIANTS) rows.push(await measureVariant(variant, { jwks, upstream, sink, load, options, workDir, progress: (text) => progress(`run ${round}/${options.runs}  ${text}`) }));
      rounds.push(rows);
    }
    const references = [
      await idleReference(() => startServer('bare node', 'upstream', { core: SERVER_CORE }), 'bare Node.js http server (the upstream program)'),
      await idleReference(startBareFastify, 'bare fastify'),
    ];
    return report(rounds, references, options);
  } finally {
    await Promise.all([upstream.stop(), sink.stop(), jwks.stop()]);
  }
}

function report(rounds, references, options) {
  const rows = rounds[0].map((first, index) => {
    const all = rounds.map((round) => round[index]);
    const pick = (field) => median(all.map((row) => row[field]));
    return { ...first, ...Object.fromEntries(['idle', 'steady', 'steadyHighest', 'steadyHeapTotal', 'steadyHeapUsed', 'steadyCpuUs', 'vcpuPer1000', 'saturationRps', 'saturationCpuUs', 'saturation', 'peak'].map((field) => [field, pick(field)])) };
  });
  const mb = (bytes) => (bytes / MB).toFixed(1);
  const byId = (id) => rows.find((row) => row.id === id);
  const proxy = byId('proxy');
  const floor = byId('bare-proxy');
  const image = imageRuntime();
  const flags = [...Object.entries(image.env).map(([name, value]) => `${name}=${value}`), ...image.flags];
  return {
    sections: [
      {
        title: `Resident memory (MB) and CPU per request, tokenwatch as the image runs it (${nodeVersion()}, ${flags.join(' ') || 'no flags'}); medians of ${rounds.length} run(s)`,
        columns: ['tokenwatch', 'idle', `${STEADY_RATE} req/s`, `${STEADY_RATE} req/s max`, 'heap used/total', 'CPU µs/req', `vCPU per ${STEADY_RATE} req/s`, 'saturation req/s', 'CPU µs/req', 'saturation max', 'peak (HWM)'],
        cells: rows.map((row) => [
          row.label,
          mb(row.idle),
          mb(row.steady),
          mb(row.steadyHighest),
          Number.isNaN(row.steadyHeapUsed) ? '–' : `${mb(row.steadyHeapUsed)}/${mb(row.steadyHeapTotal)}`,
          formatCpu(row.steadyCpuUs),
          row.vcpuPer1000.toFixed(3),
          formatRps(row.saturationRps),
          formatCpu(row.saturationCpuUs),
          mb(row.saturation),
          mb(row.peak),
        ]),
      },
      { title: 'Floor: resident memory (MB) of a process that does nothing else, idle', columns: ['process', 'idle'], cells: references.map((row) => [row.label, mb(row.idle)]) },
      {
        title: 'tokenwatch (proxy, tracing off) above the bare Node.js proxy of the same run',
        columns: ['figure', 'tokenwatch', 'bare proxy', 'tokenwatch\'s own'],
        cells: [
          ['idle MB', mb(proxy.idle), mb(floor.idle), mb(proxy.idle - floor.idle)],
          [`${STEADY_RATE} req/s MB (highest)`, mb(proxy.steadyHighest), mb(floor.steadyHighest), mb(proxy.steadyHighest - floor.steadyHighest)],
          [`CPU µs/req at ${STEADY_RATE} req/s`, formatCpu(proxy.steadyCpuUs), formatCpu(floor.steadyCpuUs), formatCpu(proxy.steadyCpuUs - floor.steadyCpuUs)],
          ['CPU µs/req at saturation', formatCpu(proxy.saturationCpuUs), formatCpu(floor.saturationCpuUs), formatCpu(proxy.saturationCpuUs - floor.saturationCpuUs)],
        ],
      },
    ],
    targets: [
      { name: 'proxy: resident memory idle', measured: `${mb(proxy.idle)} MB`, threshold: `<= ${TARGETS.idleMb} MB`, pass: proxy.idle <= TARGETS.idleMb * MB },
      {
        name: `proxy: resident memory at ${STEADY_RATE} req/s steady`,
        measured: `${mb(proxy.steadyHighest)} MB (highest sample)`,
        threshold: `<= ${TARGETS.steadyMb} MB`,
        pass: proxy.steadyHighest <= TARGETS.steadyMb * MB,
      },
      {
        name: `proxy: CPU per ${STEADY_RATE} req/s, hot token`,
        measured: `${proxy.vcpuPer1000.toFixed(3)} vCPU`,
        threshold: `<= ${TARGETS.vcpuPer1000} vCPU`,
        pass: proxy.vcpuPer1000 <= TARGETS.vcpuPer1000,
      },
    ],
    notes: [
      `tokenwatch is started by its CLI with a configuration file (one issuer, one scoped route, audit log on as by default, written to a file), on core ${SERVER_CORE}; the upstream, the load generators and the OTLP sink run on core ${LOAD_CORE}.`,
      `idle: ${IDLE_SETTLE_MS / 1000} s after /readyz turned 200, before any request. ${STEADY_RATE} req/s: open loop for ${steadyMs() / 1000} s after ${options.warmupMs / 1000} s of warm-up, one hot RS256 token; "max" is the highest of one-second samples. saturation: wrk, ${options.connections} connections, ${options.durationMs / 1000} s. peak (HWM): the kernel's high-water mark of the process over its whole life.`,
      'CPU µs/req: utime + stime of the tokenwatch process from /proc/<pid>/stat (10 ms ticks) over the phase, divided by its requests. vCPU per 1,000 req/s = CPU µs/req x 1,000 / 1,000,000. On a shared machine these are noisier than the memory figures: other work steals cache and time from the same core.',
      `the last two rows run without the Dockerfile's runtime settings (${flags.join(' ') || 'none'}), and from the unbundled dist/ instead of the bundle: what each changes. heap used/total: V8's own figures at the end of the ${STEADY_RATE} req/s phase; the rest of the resident memory is the node binary, compiled code, buffers and malloc arenas.`,
    ],
    raw: rounds,
  };
}

function nodeVersion() {
  const binary = nodeBinary();
  return binary === process.execPath ? `node ${process.version}` : `node at ${binary}`;
}
