// IdP event followers: parse throughput per format (one core) and end-to-end lag from a line written to the
// counter moving, at a steady write rate. Build first: npx tsc -p tsconfig.build.json
//
//   node bench/idp-events.mjs                 # defaults: 1 s per parser, 10 s of lag at 10,000 lines/s
//   BENCH_LAG_SECONDS=3 BENCH_RATE=20000 node bench/idp-events.mjs
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseJsonlLine } from '../dist/idp-events/formats/jsonl.js';
import { parseKeycloakLine } from '../dist/idp-events/formats/keycloak.js';
import { parseOidcProviderLine } from '../dist/idp-events/formats/oidc-provider.js';
import { idpEventMetrics, startIdpEventFollowers } from '../dist/idp-events/index.js';

const PARSE_SECONDS = Number(process.env.BENCH_PARSE_SECONDS ?? 1);
const LAG_SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const VARIANTS = 10_000;

const REALM = '2c7a1f0e-6f4b-4d8e-9a51-1b6f0c3d2e10';
const uuid = (i) => `a3c1e5f2-91b4-4c3e-8d2a-${String(i).padStart(12, '0')}`;
const KEYCLOAK_TYPES = [
  ['CODE_TO_TOKEN', 'grant_type="authorization_code", refresh_token_type="Refresh", scope="openid profile email"'],
  ['REFRESH_TOKEN', 'grant_type="refresh_token", refresh_token_type="Refresh", scope="openid profile email"'],
  ['CLIENT_LOGIN', 'grant_type="client_credentials", scope="profile email", client_auth_method="client-secret"'],
  ['LOGIN_ERROR', 'error="invalid_user_credentials", auth_method="openid-connect", auth_type="code"'],
];

function keycloakMessage(i) {
  const [type, details] = KEYCLOAK_TYPES[i % KEYCLOAK_TYPES.length];
  const error = type.endsWith('_ERROR');
  return `type="${type}", realmId="${REALM}", realmName="prod", clientId="client-${i % 40}", userId="${error ? 'null' : uuid(i)}", ${error ? '' : `sessionId="${uuid(i % 5000)}", `}ipAddress="10.0.${i % 250}.7", ${details}, code_id="${uuid(i)}"`;
}

const SHAPES = {
  'keycloak (plain log line)': {
    parse: parseKeycloakLine,
    line: (i) => `2025-03-10 09:15:41,${String(i % 1000).padStart(3, '0')} INFO  [org.keycloak.events] (executor-thread-${i % 16}) ${keycloakMessage(i)}`,
  },
  'keycloak (non-event log line)': {
    parse: parseKeycloakLine,
    line: (i) => `2025-03-10 09:15:41,${String(i % 1000).padStart(3, '0')} INFO  [org.hibernate.engine] (executor-thread-${i % 16}) HHH000${i % 999}: statement ${i} prepared, type: SELECT`,
  },
  'keycloak (JSON console log)': {
    parse: parseKeycloakLine,
    line: (i) =>
      JSON.stringify({ timestamp: '2025-03-10T09:15:41.733120411Z', sequence: i, loggerClassName: 'org.jboss.logging.Logger', loggerName: 'org.keycloak.events', level: 'INFO', message: keycloakMessage(i), threadName: 'executor-thread-1', threadId: 31, mdc: {}, ndc: '', hostName: 'keycloak-0', processName: 'java', processId: 1 }),
  },
  'keycloak (JSON event listener)': {
    parse: parseKeycloakLine,
    line: (i) => JSON.stringify({ id: uuid(i), time: 1741598141733 + i, type: 'REFRESH_TOKEN', realmId: REALM, clientId: `client-${i % 40}`, userId: uuid(i), sessionId: uuid(i % 5000), ipAddress: '10.0.3.7', details: { grant_type: 'refresh_token', refresh_token_type: 'Refresh' } }),
  },
  jsonl: {
    parse: parseJsonlLine,
    line: (i) => JSON.stringify({ event: 'token_issued', client_id: `client-${i % 40}`, grant_type: 'authorization_code', user_id: `user_${i}`, scopes: ['openid', 'profile', 'email'], token_type: 'access', expires_in: 3600, auth_server: 'keycloak' }),
  },
  'oidc-provider': {
    parse: parseOidcProviderLine,
    line: (i) => JSON.stringify({ event: 'grant.success', time: 1741598141733 + i, client_id: `client-${i % 40}`, grant_type: 'refresh_token', account_id: `user_${i}`, session_id: `sess${i % 5000}` }),
  },
};

function parseThroughput({ parse, line }) {
  const lines = Array.from({ length: VARIANTS }, (_, i) => line(i));
  let sink = 0;
  const run = (count) => {
    for (let i = 0; i < count; i++) if (typeof parse(lines[i % VARIANTS]) === 'object') sink++;
  };
  run(VARIANTS * 5); // warm-up: let the JIT settle before timing
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < PARSE_SECONDS * 1000) {
    run(VARIANTS);
    count += VARIANTS;
  }
  const seconds = (performance.now() - start) / 1000;
  return { linesPerSecond: count / seconds, bytesPerLine: Buffer.byteLength(lines[0]), events: sink };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Writes `RATE` lines/s for LAG_SECONDS and measures, per write, the time until idp_event_lines_total moved past it. */
async function endToEndLag() {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-idp-'));
  const path = join(dir, 'events.log');
  writeFileSync(path, '');
  const registry = new Registry();
  const followers = startIdpEventFollowers([{ path, format: 'keycloak', issuer: 'bench', fromBeginning: false, sessionIdleTimeout: 1_800_000 }], {
    registry,
    logger: pino({ level: 'silent' }),
  });
  await followers.settle();
  const lines = idpEventMetrics(registry).lines;
  const counted = async () => (await lines.get()).values.find((v) => v.labels.file === path && v.labels.result === 'parsed')?.value ?? 0;

  const writes = []; // [cumulative lines, written at]
  const lags = [];
  let written = 0;
  let nextWrite = 0;
  const start = performance.now();
  const writer = setInterval(() => {
    const due = Math.min(Math.floor(((performance.now() - start) / 1000) * RATE), LAG_SECONDS * RATE);
    if (due <= written) return;
    let text = '';
    for (let i = written; i < due; i++) text += `2025-03-10 09:15:41,000 INFO  [org.keycloak.events] (executor-thread-1) ${keycloakMessage(i)}\n`;
    appendFileSync(path, text);
    written = due;
    writes.push([written, performance.now()]);
  }, 5);

  while (performance.now() - start < LAG_SECONDS * 1000 + 2000) {
    const seen = await counted();
    const now = performance.now();
    while (nextWrite < writes.length && writes[nextWrite][0] <= seen) {
      lags.push(now - writes[nextWrite][1]);
      nextWrite++;
    }
    if (written >= LAG_SECONDS * RATE && nextWrite === writes.length) break;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  clearInterval(writer);
  const total = await counted();
  await followers.stop();
  rmSync(dir, { recursive: true, force: true });
  lags.sort((a, b) => a - b);
  return { written, counted: total, writes: writes.length, p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1), unseen: writes.length - lags.length };
}

const format = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

console.log(`\nParse throughput, one core (${PARSE_SECONDS} s each, ${format(VARIANTS)} distinct lines cycled)\n`);
console.log('| format / line shape              |      lines/s | bytes/line |');
console.log('|-----------------------------------|-------------:|-----------:|');
for (const [name, shape] of Object.entries(SHAPES)) {
  const { linesPerSecond, bytesPerLine } = parseThroughput(shape);
  console.log(`| ${name.padEnd(33)} | ${format(linesPerSecond).padStart(12)} | ${String(bytesPerLine).padStart(10)} |`);
}

console.log(`\nEnd-to-end lag: line appended → idp_event_lines_total moved (keycloak, ${format(RATE)} lines/s for ${LAG_SECONDS} s, default poll + directory watch)\n`);
const lag = await endToEndLag();
console.log('| lines written | lines counted | writes | lag p50 (ms) | lag p99 (ms) | lag max (ms) |');
console.log('|--------------:|--------------:|-------:|-------------:|-------------:|-------------:|');
console.log(`| ${format(lag.written).padStart(13)} | ${format(lag.counted).padStart(13)} | ${String(lag.writes).padStart(6)} | ${format(lag.p50, 1).padStart(12)} | ${format(lag.p99, 1).padStart(12)} | ${format(lag.max, 1).padStart(12)} |`);
if (lag.unseen > 0 || lag.counted !== lag.written) {
  console.log(`\n${lag.unseen} writes never seen counted; ${lag.written - lag.counted} lines missing`);
  process.exitCode = 1;
}
