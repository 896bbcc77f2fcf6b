import { fileURLToPath } from 'node:url';
import { LOAD_CORE, runPinned } from './children.mjs';
import { watchOtherLoad } from './interference.mjs';

/**
 * Load generators, always on the load core. A `load` describes the requests: `{ path, headers, tokensFile }`;
 * every request carries `Authorization: Bearer <next token of the file>` plus `headers`. `expect` is 'ok' when
 * every answer must be 2xx, 'refused' when none may be; anything else fails the measurement instead of
 * printing a fast figure for the wrong behaviour. Each result carries `others`: the share of the server core and
 * of the load core that other work on the machine took meanwhile (interference.mjs).
 */

const WRK_SCRIPT = fileURLToPath(new URL('./wrk-tokens.lua', import.meta.url));
const FIXED_RATE_SCRIPT = fileURLToPath(new URL('./fixed-rate.mjs', import.meta.url));
const SLACK_MS = 30_000;

/** Closed loop at saturation: `connections` keep-alive connections, each sending its next request on an answer. */
export async function saturate({ url, load, expect, connections, durationMs }) {
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', WRK_SCRIPT, url, '--', load.tokensFile, load.path];
  for (const [name, value] of Object.entries(load.headers)) args.push(name, value);
  const otherLoad = watchOtherLoad();
  const stdout = await runPinned(LOAD_CORE, 'wrk', args, { timeoutMs: seconds * 1000 + SLACK_MS });
  const others = otherLoad();
  const line = stdout.split('\n').find((text) => text.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk printed no BENCH_JSON line:\n${stdout}`);
  const summary = JSON.parse(line.slice('BENCH_JSON '.length));
  const { connect, read, write, timeout, status } = summary.errors;
  if (connect + read + write + timeout > 0) throw new Error(`wrk socket errors against ${url}: ${JSON.stringify(summary.errors)}`);
  checkStatuses(expect, summary.requests, summary.requests - status, url);
  return {
    rps: summary.requests / (summary.durationUs / 1e6),
    latencyUs: summary.latencyUs,
    requests: summary.requests,
    others,
  };
}

/** Open loop at `rate` requests/s for `durationMs` after `warmupMs` at the same rate (see fixed-rate.mjs). */
export async function fixedRate({ url, load, expect, rate, warmupMs, durationMs, connections = 16 }) {
  const { hostname: host, port } = new URL(url);
  const spec = { host, port: Number(port), path: load.path, headers: load.headers, tokensFile: load.tokensFile, rate, warmupMs, durationMs, connections };
  const otherLoad = watchOtherLoad();
  const stdout = await runPinned(LOAD_CORE, process.execPath, [FIXED_RATE_SCRIPT, JSON.stringify(spec)], {
    timeoutMs: warmupMs + durationMs + SLACK_MS,
  });
  const others = otherLoad();
  const line = stdout.split('\n').find((text) => text.startsWith('RESULT '));
  if (!line) throw new Error(`fixed-rate printed no RESULT line:\n${stdout}`);
  const result = JSON.parse(line.slice('RESULT '.length));
  const ok = Object.entries(result.statusCounts).reduce((sum, [status, count]) => sum + (Number(status) < 300 ? count : 0), 0);
  checkStatuses(expect, result.requests, ok, url);
  return { ...result, others };
}

function checkStatuses(expect, requests, ok, url) {
  if (requests === 0) throw new Error(`no request completed against ${url}`);
  if (expect === 'ok' && ok !== requests) throw new Error(`${requests - ok} of ${requests} answers from ${url} were not 2xx`);
  if (expect === 'refused' && ok !== 0) throw new Error(`${ok} of ${requests} answers from ${url} were 2xx; every one must be refused`);
}
