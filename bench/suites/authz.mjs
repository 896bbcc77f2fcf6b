import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runJoseBaseline } from '../lib/jose-baseline.mjs';
import { fixedRate, saturate } from '../lib/loadgen.mjs';
import { withServerUsage } from '../lib/process-usage.mjs';
import { formatMs, formatPercent, formatRps } from '../lib/report.mjs';
import { startBareFastify, startTokenwatch } from '../lib/servers.mjs';
import { summarizeRuns } from '../lib/stats.mjs';
import { AUDIENCE, SCOPE, createRs256Key, signTokens, startJwksServer, tamperSignature, writeTokenFile } from '../lib/tokens.mjs';

/**
 * Forward-auth mode (`mode: authz`) against bare fastify, as NGINX `auth_request` calls it: GET /authz with
 * X-Original-Method/-URI naming a route that requires a scope, and the token in Authorization.
 */

export const description = 'forward-auth endpoint vs bare fastify';

const DISTINCT_TOKENS = 10_000;
const REQUEST = { path: '/authz', headers: { 'X-Original-Method': 'GET', 'X-Original-URI': '/api/orders/42' } };
const VERIFY_LOOP_DURATION_MS = 3000;

/** Verification loops without HTTP, on the server core: the ceiling for cache misses (see jose-baseline.mjs). */
const VERIFIERS = [
  { id: 'jose', label: 'jose jwtVerify loop' },
  { id: 'node-crypto', label: 'node:crypto.verify loop, sync (info)' },
];

/** Servers of this suite: each its own process on the server core. */
const SERVERS = {
  bare: { label: 'bare fastify', start: () => startBareFastify() },
  cached: { label: 'tokenwatch (token cache on, default 10,000 entries)', tokenwatch: { maxEntries: 10_000 } },
  uncached: { label: 'tokenwatch (tokenCache.maxEntries: 0)', tokenwatch: { maxEntries: 0 } },
};

/** Closed-loop scenarios; `probe` is what one request must answer before the scenario is measured. */
const SATURATION = [
  { id: 'bare', label: 'bare fastify, 200 to everything', server: 'bare', tokens: 'hot', expect: 'ok', probe: { status: 200 } },
  { id: 'hit', label: 'tokenwatch, 1 hot RS256 token (cache hit)', server: 'cached', tokens: 'hot', expect: 'ok', probe: { status: 200 } },
  {
    id: 'miss',
    label: 'tokenwatch, 10k tokens, cache off (verify each)',
    server: 'uncached',
    tokens: 'valid',
    expect: 'ok',
    probe: { status: 200 },
  },
  { id: 'miss-cached', label: 'tokenwatch, 10k tokens, cache on (info)', server: 'cached', tokens: 'valid', expect: 'ok', probe: { status: 200 } },
  {
    id: 'tampered',
    label: 'tokenwatch, 10k tampered RS256 signatures',
    server: 'cached',
    tokens: 'tampered',
    expect: 'refused',
    probe: { status: 401, reason: 'invalid_signature' },
  },
  { id: 'garbage', label: 'tokenwatch, "Bearer abc"', server: 'cached', tokens: 'garbage', expect: 'refused', probe: { status: 401, reason: 'malformed' } },
];

const FIXED_RATE = [
  { id: 'bare', label: 'bare fastify', server: 'bare', tokens: 'hot', expect: 'ok' },
  { id: 'hit', label: 'tokenwatch, 1 hot token (cache hit)', server: 'cached', tokens: 'hot', expect: 'ok' },
];

const TARGETS = { hitVsBare: 0.7, missVsJose: 0.7, addedP50Us: 200 };

export function checkPrerequisites() {
  const sidecar = fileURLToPath(new URL('../../dist/main/sidecar.js', import.meta.url));
  if (!existsSync(sidecar)) return 'dist/ is missing: build first (npx tsc -p tsconfig.build.json, or npm run bench)';
  return undefined;
}

function tokenwatchConfig(jwks, maxEntries) {
  return {
    mode: 'authz',
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    // The audit log still builds its event per validation; only writing it is off. The telemetry suite prices it.
    logLevel: 'silent',
    issuers: [{ issuer: jwks.issuer, jwksUri: jwks.jwksUri, audiences: [AUDIENCE] }],
    routes: [{ path: '/api/orders/**', methods: ['GET'], scopes: [SCOPE] }],
    defaultRoute: 'deny',
    tokenCache: { maxEntries },
  };
}

/** One request through fetch: a scenario measured against the wrong behaviour would print a meaningless figure. */
async function probe(url, token, expected) {
  const response = await fetch(`${url}${REQUEST.path}`, { headers: { ...REQUEST.headers, authorization: `Bearer ${token}` } });
  const body = await response.text();
  const reason = body ? JSON.parse(body).reason : undefined;
  if (response.status !== expected.status || (expected.reason && reason !== expected.reason)) {
    throw new Error(`probe of ${url} answered ${response.status} ${body}; expected ${expected.status} ${expected.reason ?? ''}`);
  }
}

async function prepareFixtures(workDir, progress) {
  progress(`signing ${DISTINCT_TOKENS.toLocaleString('en')} RS256 tokens`);
  const key = createRs256Key();
  const jwks = await startJwksServer(key.publicJwk);
  const valid = await signTokens(key, jwks.issuer, DISTINCT_TOKENS);
  const tokenFiles = {
    hot: await writeTokenFile(workDir, 'hot.txt', [valid[0]]),
    valid: await writeTokenFile(workDir, 'valid.txt', valid),
    tampered: await writeTokenFile(workDir, 'tampered.txt', valid.map(tamperSignature)),
    garbage: await writeTokenFile(workDir, 'garbage.txt', ['abc']),
  };
  return {
    key,
    jwks,
    tokenFiles,
    firstToken: { hot: valid[0], valid: valid[0], tampered: tamperSignature(valid[0]), garbage: 'abc' },
    load: (tokens) => ({ ...REQUEST, tokensFile: tokenFiles[tokens] }),
  };
}

async function startServers(ids, fixtures, progress, profileDir) {
  const servers = {};
  try {
    for (const id of ids) {
      const server = SERVERS[id];
      progress(`starting ${server.label}`);
      servers[id] = server.start
        ? await server.start()
        : await startTokenwatch(id, tokenwatchConfig(fixtures.jwks, server.tokenwatch.maxEntries), { profileDir });
    }
    return servers;
  } catch (error) {
    await stopServers(servers);
    throw error;
  }
}

const stopServers = (servers) => Promise.all(Object.values(servers).map((server) => server.stop()));

/** Warm-up, then one measured wrk run of a saturation scenario. */
async function measureSaturation(scenario, server, fixtures, { warmupMs, durationMs, connections }) {
  const target = { url: server.url, load: fixtures.load(scenario.tokens), expect: scenario.expect, connections };
  await saturate({ ...target, durationMs: warmupMs });
  return withServerUsage(server, () => saturate({ ...target, durationMs }));
}

export async function run({ options, workDir, progress }) {
  const { runs, durationMs, warmupMs, connections, rate } = options;
  const fixtures = await prepareFixtures(workDir, progress);
  let servers = {};
  try {
    const measured = { saturation: {}, fixedRate: {}, verifyLoop: {} };
    for (let round = 1; round <= runs; round += 1) {
      // Fresh processes every round: how fast one process runs depends on where its memory landed (identical
      // servers differ by up to 20% on this VM), so each round draws that anew for every server.
      servers = await startServers(Object.keys(SERVERS), fixtures, progress);
      for (const scenario of SATURATION) await probe(servers[scenario.server].url, fixtures.firstToken[scenario.tokens], scenario.probe);
      // Rounds interleave the scenarios, so a slow spell of the machine hits all of them rather than one.
      for (const scenario of SATURATION) {
        const result = await measureSaturation(scenario, servers[scenario.server], fixtures, options);
        (measured.saturation[scenario.id] ??= []).push(result);
        progress(`run ${round}/${runs}  ${scenario.label.padEnd(52)} ${formatRps(result.rps)} req/s  p50 ${formatMs(result.latencyUs.p50)} ms`);
      }
      for (const scenario of FIXED_RATE) {
        const load = fixtures.load(scenario.tokens);
        const server = servers[scenario.server];
        const result = await withServerUsage(server, () => fixedRate({ url: server.url, load, expect: scenario.expect, rate, warmupMs, durationMs }));
        (measured.fixedRate[scenario.id] ??= []).push(result);
        progress(`run ${round}/${runs}  ${`${scenario.label} @ ${rate} req/s`.padEnd(52)} p50 ${formatMs(result.latencyUs.p50)} ms  p99 ${formatMs(result.latencyUs.p99)} ms`);
      }
      for (const verifier of VERIFIERS) {
        const result = await runJoseBaseline({
          verifier: verifier.id,
          tokensFile: fixtures.tokenFiles.valid,
          jwk: fixtures.key.publicJwk,
          issuer: fixtures.jwks.issuer,
          audience: AUDIENCE,
          warmupMs: Math.min(warmupMs, 1000),
          durationMs: Math.min(durationMs, VERIFY_LOOP_DURATION_MS),
          concurrency: connections,
        });
        (measured.verifyLoop[verifier.id] ??= []).push({ rps: result.verificationsPerSecond });
        progress(`run ${round}/${runs}  ${verifier.label.padEnd(52)} ${formatRps(result.verificationsPerSecond)} verifications/s`);
      }
      await stopServers(servers);
      servers = {};
    }
    return { ...report(measured, { connections, rate }), raw: measured };
  } finally {
    await stopServers(servers);
    await fixtures.jwks.stop();
  }
}

export const profileScenarios = SATURATION.filter((scenario) => scenario.server !== 'bare').map((scenario) => scenario.id);

/**
 * One saturation scenario against a tokenwatch server started with `node --cpu-prof`; resolves once the server
 * has stopped and written its profile to `profileDir`.
 */
export async function profile(scenarioId, { options, workDir, progress, profileDir }) {
  const scenario = SATURATION.find((candidate) => candidate.id === scenarioId);
  if (!scenario || scenario.server === 'bare') throw new Error(`no tokenwatch scenario ${scenarioId}; one of: ${profileScenarios.join(', ')}`);
  const fixtures = await prepareFixtures(workDir, progress);
  let servers = {};
  try {
    servers = await startServers([scenario.server], fixtures, progress, profileDir);
    const server = servers[scenario.server];
    await probe(server.url, fixtures.firstToken[scenario.tokens], scenario.probe);
    progress(`profiling: ${scenario.label}`);
    const result = await measureSaturation(scenario, server, fixtures, options);
    return { label: scenario.label, result };
  } finally {
    await stopServers(servers);
    await fixtures.jwks.stop();
  }
}

function report(measured, { connections, rate }) {
  const row = (scenario, runsOf) => ({ id: scenario.id, label: scenario.label, ...summarizeRuns(runsOf[scenario.id]) });
  const saturation = SATURATION.map((scenario) => row(scenario, measured.saturation));
  const fixed = FIXED_RATE.map((scenario) => row(scenario, measured.fixedRate));
  const loops = VERIFIERS.map((verifier) => ({ ...row(verifier, measured.verifyLoop), label: `${verifier.label}, ${connections} in flight` }));
  const find = (rows, id) => rows.find((candidate) => candidate.id === id);
  const jose = find(loops, 'jose');

  const hitRatio = find(saturation, 'hit').rps / find(saturation, 'bare').rps;
  const missRatio = find(saturation, 'miss').rps / jose.rps;
  const addedP50Us = find(fixed, 'hit').latencyUs.p50 - find(fixed, 'bare').latencyUs.p50;

  return {
    sections: [
      {
        title: `Saturation: wrk, 1 thread, ${connections} keep-alive connections (closed loop)`,
        baseline: 'bare',
        rows: saturation,
      },
      { title: `Fixed rate: ${rate} req/s, open loop, latency from each request's due time`, baseline: 'bare', rows: fixed },
      {
        title: 'RS256 verification ceiling on one core (req/s column = verifications/s)',
        baseline: 'jose',
        rows: [...loops, find(saturation, 'miss')],
      },
    ],
    targets: [
      {
        name: 'cache hit rate vs bare fastify',
        measured: `${formatPercent(hitRatio)} (${formatRps(find(saturation, 'hit').rps)} vs ${formatRps(find(saturation, 'bare').rps)} req/s)`,
        threshold: `>= ${formatPercent(TARGETS.hitVsBare)}`,
        pass: hitRatio >= TARGETS.hitVsBare,
      },
      {
        name: 'RS256 cache miss rate vs bare jose jwtVerify',
        measured: `${formatPercent(missRatio)} (${formatRps(find(saturation, 'miss').rps)} req/s vs ${formatRps(jose.rps)} verifications/s)`,
        threshold: `>= ${formatPercent(TARGETS.missVsJose)}`,
        pass: missRatio >= TARGETS.missVsJose,
      },
      {
        name: `added p50 at ${rate} req/s, hot token`,
        measured: `${formatMs(addedP50Us)} ms (${formatMs(find(fixed, 'hit').latencyUs.p50)} vs ${formatMs(find(fixed, 'bare').latencyUs.p50)} ms)`,
        threshold: `< ${formatMs(TARGETS.addedP50Us)} ms`,
        pass: addedP50Us < TARGETS.addedP50Us,
      },
    ],
    notes: [
      'cache off = tokenCache.maxEntries: 0: every request runs the full RS256 signature and claim checks.',
      'tampered tokens are never cached: each one costs a full signature check before the 401.',
      `${DISTINCT_TOKENS.toLocaleString('en')} distinct tokens are sent round-robin; the cache-on row fits them all in the default 10,000 entries.`,
      'logLevel: silent (the audit event is still built per validation, not written).',
      'every round starts fresh server processes (a process\'s speed depends on where its memory landed).',
    ],
  };
}
