import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * Open-loop load generator at a fixed request rate, run as its own process on the load core:
 *   node fixed-rate.mjs '{"host","port","path","headers","tokensFile","rate","warmupMs","durationMs","connections"}'
 * Request i is due at start + i/rate; the loop spins on setImmediate (this process owns its core) so requests leave
 * within microseconds of their due time. Latency runs from the due time to the last byte of the answer, so a
 * stalled server is charged for the queue it causes (no coordinated omission). Percentiles are exact: every
 * sample is kept and sorted. Prints `RESULT {...}` with latencies in microseconds.
 *
 * autocannon's `overallRate` is not used: it sends each connection's share of a second back to back at the start
 * of the second, and records latency in whole milliseconds, too coarse for a 0.2 ms budget.
 */

const spec = JSON.parse(process.argv[2]);
const tokens = readFileSync(spec.tokensFile, 'utf8').split('\n').filter(Boolean);
const extraHeaders = Object.entries(spec.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
const requests = tokens.map((token) =>
  Buffer.from(`GET ${spec.path} HTTP/1.1\r\nHost: ${spec.host}:${spec.port}\r\nAuthorization: Bearer ${token}\r\n${extraHeaders}\r\n`),
);

const intervalNs = 1e9 / spec.rate;
const warmupCount = Math.round((spec.rate * spec.warmupMs) / 1000);
const total = warmupCount + Math.round((spec.rate * spec.durationMs) / 1000);
const latenciesUs = new Float64Array(total - warmupCount);
const statusCounts = {};
const nowNs = () => Number(process.hrtime.bigint());

const idle = [];
const queued = [];
let startNs = 0;
let sent = 0;
let completed = 0;
/** Most requests ever waiting for a free connection: above 0, the server fell behind the rate. */
let maxQueued = 0;

class Connection {
  constructor(socket) {
    this.socket = socket;
    this.pending = Buffer.alloc(0);
    this.request = -1;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (error) => fail(`connection error: ${error.message}`));
    socket.on('close', () => {
      if (completed < total) fail('the server closed a connection');
    });
  }

  send(index) {
    this.request = index;
    this.socket.write(requests[index % requests.length]);
  }

  onData(chunk) {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const headerEnd = this.pending.indexOf('\r\n\r\n');
    if (headerEnd === -1) return;
    const head = this.pending.toString('latin1', 0, headerEnd);
    if (/\r\ntransfer-encoding:/i.test(head)) fail('chunked answers are not supported');
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.pending.length < headerEnd + 4 + length) return;
    if (this.pending.length > headerEnd + 4 + length) fail('more bytes than one answer');
    this.pending = Buffer.alloc(0);
    finished(this, Number(head.slice(9, 12)));
  }
}

function finished(connection, status) {
  const index = connection.request;
  if (index >= warmupCount) {
    latenciesUs[index - warmupCount] = (nowNs() - (startNs + index * intervalNs)) / 1000;
    statusCounts[status] = (statusCounts[status] ?? 0) + 1;
  }
  completed += 1;
  if (queued.length > 0) connection.send(queued.shift());
  else idle.push(connection);
  if (completed === total) report();
}

function dispatch(index) {
  const connection = idle.pop();
  if (connection) return connection.send(index);
  queued.push(index);
  maxQueued = Math.max(maxQueued, queued.length);
}

function tick() {
  const now = nowNs();
  while (sent < total && startNs + sent * intervalNs <= now) dispatch(sent++);
  if (completed < total) setImmediate(tick);
}

function report() {
  const sorted = latenciesUs.sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const measuredSeconds = spec.durationMs / 1000;
  const result = {
    requests: sorted.length,
    rps: sorted.length / measuredSeconds,
    statusCounts,
    latencyUs: { p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1] },
    maxQueued,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

function fail(message) {
  process.stderr.write(`fixed-rate: ${message}\n`);
  process.exit(1);
}

const sockets = await Promise.all(
  Array.from({ length: spec.connections }, () => new Promise((resolve, reject) => {
    const socket = connect({ host: spec.host, port: spec.port }, () => resolve(socket));
    socket.once('error', reject);
  })),
);
for (const socket of sockets) idle.push(new Connection(socket));
startNs = nowNs() + 1e6;
tick();
