import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LOAD_CORE, SERVER_CORE } from '../lib/children.mjs';
import { fixedRate, saturate } from '../lib/loadgen.mjs';
import { missingPeers, startApache, startNginx } from '../lib/peers.mjs';
import { formatMs, formatPercent, formatRps } from '../lib/report.mjs';
import { startTokenwatch, startUpstream } from '../lib/servers.mjs';
import { withServerUsage } from '../lib/process-usage.mjs';
import { median, summarizeRuns } from '../lib/stats.mjs';
import { selfSignedCertificate } from '../lib/tls.mjs';
import { AUDIENCE, createRs256Key, signTokens, startJwksServer, tamperSignature, writeTokenFile } from '../lib/tokens.mjs';

/**
 * Reverse-proxy mode (`mode: proxy`) in front of a bare node:http upstream, side by side with the upstream alone,
 * NGINX proxying without auth, and Apache with mod_auth_openidc validating the same RS256 token against the same
 * JWKS. Every proxy has the server core to itself; the upstream it forwards to runs on the load core, next to the
 * load generator, in every proxied row alike.
 */

export const description = 'reverse proxy: tokenwatch vs bare upstream, NGINX (no auth), Apache mod_auth_openidc';

const REQUEST = { path: '/api/orders/42', headers: {} };

/**
 * Servers of this suite, each its own process(es) on `core`. `upstream` is not under test: it answers the proxies
 * of the saturation runs from the load core. At the fixed rate the proxies forward to the bare upstream on the server
 * core instead (`*-near` instances): the fixed-rate generator spins on the load core by design, and an upstream
 * there waits for the scheduler (measured: NGINX's p90 0.6-1.2 ms with the upstream on core 1, 0.3 ms on core 0),
 * which is no proxy's doing. At 1,000 req/s core 0 is mostly idle, so proxy and upstream hardly ever contend.
 */
const SERVERS = {
  bare: { label: 'bare upstream', core: SERVER_CORE },
  upstream: { label: 'upstream of the saturation runs', core: LOAD_CORE },
  tokenwatch: { label: 'tokenwatch, mode: proxy', core: SERVER_CORE, kind: 'tokenwatch', upstream: 'upstream' },
  nginx: { label: 'NGINX proxy_pass', core: SERVER_CORE, kind: 'nginx', upstream: 'upstream' },
  apache: { label: 'Apache mod_auth_openidc + mod_proxy_http', core: SERVER_CORE, kind: 'apache', upstream: 'upstream' },
  'tokenwatch-near': { label: 'tokenwatch, mode: proxy, to the bare upstream', core: SERVER_CORE, kind: 'tokenwatch', upstream: 'bare' },
  'nginx-near': { label: 'NGINX proxy_pass, to the bare upstream', core: SERVER_CORE, kind: 'nginx', upstream: 'bare' },
  'apache-near': { label: 'Apache mod_auth_openidc, to the bare upstream', core: SERVER_CORE, kind: 'apache', upstream: 'bare' },
};

/**
 * Rows: `server` at saturation, `nearServer` at the fixed rate (rows without one are measured at saturation only).
 * `tokens`: the token file every request carries; `expect`: 'ok' (every answer 2xx) or 'refused' (none).
 * `probes`: what the server must answer before it is measured, with the hot token, with no token and with the hot
 * token's signature tampered with (a proxy that does not check signatures must not print a figure for "validating").
 */
const SCENARIOS = [
  { id: 'bare', label: 'bare upstream alone (node:http, on core 0)', server: 'bare', nearServer: 'bare', tokens: 'hot', expect: 'ok', probes: { hot: 200, none: 200 } },
  {
    id: 'tokenwatch',
    label: 'tokenwatch proxy, hot RS256 token (cache hit)',
    server: 'tokenwatch',
    nearServer: 'tokenwatch-near',
    tokens: 'hot',
    expect: 'ok',
    probes: { hot: 200, none: 401, tampered: 401 },
  },
  {
    // Refusals keep the connection (docs/proxy.md): wrk's keep-alive connections stay open, as a client's would.
    id: 'tokenwatch-refused',
    label: 'tokenwatch proxy, tampered RS256 signature (401)',
    server: 'tokenwatch',
    tokens: 'tampered',
    expect: 'refused',
    probes: { tampered: 401 },
  },
  { id: 'nginx', label: 'NGINX proxy_pass, no auth', server: 'nginx', nearServer: 'nginx-near', tokens: 'hot', expect: 'ok', probes: { hot: 200, none: 200 } },
  {
    id: 'apache',
    label: 'Apache mod_auth_openidc, same token + JWKS',
    server: 'apache',
    nearServer: 'apache-near',
    tokens: 'hot',
    expect: 'ok',
    probes: { hot: 200, none: 401, tampered: 401 },
  },
];

const FIXED_RATE = SCENARIOS.filter((scenario) => scenario.nearServer !== undefined);

const TARGETS = { vsNginx: 0.5, vsApache: 1.5, addedP50Us: 500, addedP90Us: 1500 };

export function checkPrerequisites() {
  const sidecar = fileURLToPath(new URL('../../dist/main/sidecar.js', import.meta.url));
  if (!existsSync(sidecar)) return 'dist/ is missing: build first (npx tsc -p tsconfig.build.json, or npm run bench)';
  const missing = missingPeers();
  if (missing.length > 0) return `${missing.join(', ')} not installed: apt-get install -y nginx apache2 libapache2-mod-auth-openidc`;
  return undefined;
}

function tokenwatchConfig(jwks, upstreamUrl) {
  return {
    mode: 'proxy',
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    upstream: upstreamUrl,
    logLevel: 'silent',
    issuers: [{ issuer: jwks.issuer, jwksUri: jwks.jwksUri, audiences: [AUDIENCE] }],
  };
}

async function prepareFixtures(workDir, progress) {
  progress('signing the RS256 token, starting the https JWKS server');
  const key = createRs256Key();
  const tls = selfSignedCertificate(workDir);
  // https: mod_auth_openidc 2.4 refuses a plain-http OIDCOAuthVerifyJwksUri. tokenwatch fetches the same URL.
  const jwks = await startJwksServer(key.publicJwk, { tls });
  const [hot] = await signTokens(key, jwks.issuer, 1);
  const token = { hot, tampered: tamperSignature(hot) };
  const load = {
    hot: { ...REQUEST, tokensFile: await writeTokenFile(workDir, 'hot.txt', [token.hot]) },
    // One token is enough: a token whose signature fails is never cached, so each request verifies it anew.
    tampered: { ...REQUEST, tokensFile: await writeTokenFile(workDir, 'tampered.txt', [token.tampered]) },
  };
  return { jwks, certFile: tls.certFile, cert: tls.cert, token, load };
}

async function startServers(ids, fixtures, progress, profileDir) {
  const servers = {};
  const starters = {
    tokenwatch: (id, upstreamUrl) =>
      startTokenwatch(id, tokenwatchConfig(fixtures.jwks, upstreamUrl), { profileDir, env: { NODE_EXTRA_CA_CERTS: fixtures.certFile } }),
    nginx: (id, upstreamUrl) => startNginx(id, upstreamUrl),
    apache: (id, upstreamUrl) => startApache(id, { upstreamUrl, jwksUri: fixtures.jwks.jwksUri, caCertificate: fixtures.cert }),
  };
  try {
    for (const id of ids) {
      const server = SERVERS[id];
      progress(`starting ${server.label} on core ${server.core}`);
      servers[id] = server.kind ? await starters[server.kind](id, servers[server.upstream].url) : await startUpstream(id, server.core);
    }
    return servers;
  } catch (error) {
    await stopServers(servers);
    throw error;
  }
}

const stopServers = (servers) => Promise.all(Object.values(servers).map((server) => server.stop()));

/** Each probe is one request through fetch; a 200 must carry the upstream's `ok`, so it went all the way through. */
async function probe(server, scenario, fixtures) {
  for (const [kind, status] of Object.entries(scenario.probes)) {
    const headers = kind === 'none' ? {} : { authorization: `Bearer ${fixtures.token[kind]}` };
    const response = await fetch(`${server.url}${REQUEST.path}`, { headers });
    const body = await response.text();
    if (response.status !== status || (status === 200 && body !== 'ok')) {
      const log = (await server.errorLog?.()) ?? '';
      throw new Error(`probe of ${scenario.label} with ${kind} token answered ${response.status} ${body.slice(0, 200)}; expected ${status}\n${log.slice(-2000)}`);
    }
  }
}

async function measureSaturation(server, scenario, fixtures, { warmupMs, durationMs, connections }) {
  const target = { url: server.url, load: fixtures.load[scenario.tokens], expect: scenario.expect, connections };
  await saturate({ ...target, durationMs: warmupMs });
  return withServerUsage(server, () => saturate({ ...target, durationMs }));
}

export async function run({ options, workDir, progress }) {
  const { runs, durationMs, warmupMs, rate } = options;
  const fixtures = await prepareFixtures(workDir, progress);
  let servers = {};
  try {
    const measured = { saturation: {}, fixedRate: {} };
    for (let round = 1; round <= runs; round += 1) {
      // Fresh processes every round: how fast one process runs depends on where its memory landed (identical
      // servers differ by up to 20% on this VM), so each round draws that anew for every server.
      servers = await startServers(Object.keys(SERVERS), fixtures, progress);
      for (const scenario of SCENARIOS) {
        await probe(servers[scenario.server], scenario, fixtures);
        if (scenario.nearServer) await probe(servers[scenario.nearServer], scenario, fixtures);
      }
      for (const scenario of SCENARIOS) {
        const result = await measureSaturation(servers[scenario.server], scenario, fixtures, options);
        (measured.saturation[scenario.id] ??= []).push(result);
        progress(`run ${round}/${runs}  ${scenario.label.padEnd(48)} ${formatRps(result.rps)} req/s  p50 ${formatMs(result.latencyUs.p50)} ms`);
      }
      for (const scenario of FIXED_RATE) {
        const near = servers[scenario.nearServer];
        const result = await withServerUsage(near, () =>
          fixedRate({ url: near.url, load: fixtures.load[scenario.tokens], expect: scenario.expect, rate, warmupMs, durationMs }),
        );
        (measured.fixedRate[scenario.id] ??= []).push(result);
        progress(`run ${round}/${runs}  ${`${scenario.label} @ ${rate} req/s`.padEnd(48)} p50 ${formatMs(result.latencyUs.p50)} ms  p90 ${formatMs(result.latencyUs.p90)} ms`);
      }
      await stopServers(servers);
      servers = {};
    }
    return { ...report(measured, options), raw: measured };
  } finally {
    await stopServers(servers);
    await fixtures.jwks.stop();
  }
}

export const profileScenarios = ['tokenwatch', 'tokenwatch-refused'];

/** The tokenwatch saturation scenario against a server started with `node --cpu-prof`. */
export async function profile(scenarioId, { options, workDir, progress, profileDir }) {
  const scenario = SCENARIOS.find((candidate) => candidate.id === scenarioId);
  if (!profileScenarios.includes(scenarioId)) throw new Error(`no tokenwatch scenario ${scenarioId}; one of: ${profileScenarios.join(', ')}`);
  const fixtures = await prepareFixtures(workDir, progress);
  let servers = {};
  try {
    servers = await startServers(['upstream', 'tokenwatch'], fixtures, progress, profileDir);
    await probe(servers.tokenwatch, scenario, fixtures);
    progress(`profiling: ${scenario.label}`);
    const result = await measureSaturation(servers.tokenwatch, scenario, fixtures, options);
    return { label: scenario.label, result };
  } finally {
    await stopServers(servers);
    await fixtures.jwks.stop();
  }
}

function report(measured, { connections, rate }) {
  const rows = (scenarios, runsOf) => scenarios.map((scenario) => ({ id: scenario.id, label: scenario.label, ...summarizeRuns(runsOf[scenario.id]) }));
  const saturation = rows(SCENARIOS, measured.saturation);
  const fixed = rows(FIXED_RATE, measured.fixedRate);
  const find = (list, id) => list.find((row) => row.id === id);
  const [tokenwatch, nginx, apache] = ['tokenwatch', 'nginx', 'apache'].map((id) => find(saturation, id));
  const vsNginx = tokenwatch.rps / nginx.rps;
  const vsApache = tokenwatch.rps / apache.rps;
  const added = (p) => find(fixed, 'tokenwatch').latencyUs[p] - find(fixed, 'bare').latencyUs[p];
  const busy = (results, core) => `${Math.round(median(results.map((result) => result.others.busy[core])) * 100)}%`;
  const busyShares = (scenarios, runsOf) => scenarios.map((scenario) => `${scenario.id} ${busy(runsOf[scenario.id], 'serverCore')}/${busy(runsOf[scenario.id], 'loadCore')}`).join(', ');

  return {
    sections: [
      { title: `Saturation: wrk, 1 thread, ${connections} keep-alive connections (closed loop)`, baseline: 'nginx', rows: saturation },
      { title: `Fixed rate: ${rate} req/s, open loop, latency from each request's due time`, baseline: 'bare', rows: fixed },
    ],
    targets: [
      {
        name: 'proxied rate vs NGINX (no auth)',
        measured: `${formatPercent(vsNginx)} (${formatRps(tokenwatch.rps)} vs ${formatRps(nginx.rps)} req/s)`,
        threshold: `>= ${formatPercent(TARGETS.vsNginx)}`,
        pass: vsNginx >= TARGETS.vsNginx,
      },
      {
        name: 'proxied rate vs Apache mod_auth_openidc',
        measured: `${vsApache.toFixed(2)}x (${formatRps(tokenwatch.rps)} vs ${formatRps(apache.rps)} req/s)`,
        threshold: `>= ${TARGETS.vsApache.toFixed(2)}x`,
        pass: vsApache >= TARGETS.vsApache,
      },
      ...['p50', 'p90'].map((p) => ({
        name: `added ${p} over the bare upstream at ${rate} req/s`,
        measured: `${formatMs(added(p))} ms (${formatMs(find(fixed, 'tokenwatch').latencyUs[p])} vs ${formatMs(find(fixed, 'bare').latencyUs[p])} ms)`,
        threshold: `< ${formatMs(TARGETS[`added${p.toUpperCase()}Us`])} ms`,
        pass: added(p) < TARGETS[`added${p.toUpperCase()}Us`],
      })),
    ],
    notes: [
      'every round starts fresh server processes, NGINX and Apache included (a process\'s speed depends on where its memory landed).',
      'placement at saturation: each proxy has core 0 to itself; the upstream it forwards to (one node:http process) shares core 1 with wrk, the same in every proxied row. The bare row is the same upstream program alone on core 0.',
      `busy share of core 0 / core 1 at saturation (median): ${busyShares(SCENARIOS, measured.saturation)}. A server core below ~95% busy means that row was paced by core 1 (wrk + upstream), not by the proxy: its req/s is a floor.`,
      `placement at ${rate} req/s: every proxy forwards to the bare row's upstream on core 0 (the fixed-rate generator spins on core 1 by design; an upstream there waits for the scheduler), so each added latency is the proxy hop alone.`,
      'tokenwatch: default token cache, no routes (defaultRoute: authenticate), checks signature, iss, aud, exp/nbf; logLevel: silent. Apache: AuthType oauth20, Require valid-user (signature and exp; iss and aud are not configured to be checked), OIDCCacheType shm, no access log. NGINX: no auth, keepalive 64 upstream connections, access_log off.',
      'tokenwatch refusing: every request carries the hot token with its signature tampered with (never cached, so each one is a full RS256 check), answered 401 on the same keep-alive connection; NGINX and Apache have no such row.',
      'probes before measuring: tokenwatch and Apache answer 200 `ok` with the token, 401 without and 401 with its signature tampered with; NGINX and the bare upstream answer 200 either way.',
      'the JWKS is served over https (mod_auth_openidc 2.4 refuses an http JWKS URL) from a self-signed certificate that both validators are told to trust; both fetch it once and cache it.',
      `p99 at ${rate} req/s is mostly scheduling jitter on a shared VM: printed, not a target.`,
    ],
  };
}
