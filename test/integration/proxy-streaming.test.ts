import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { close, listen, useStarted } from '../support/lifecycle.js';
import { useTestSidecar } from '../support/sidecar.js';

/**
 * 100 MB each way through the proxy, with a consumer slower than the producer: a proxy that buffered whole bodies
 * would hold most of them. Two bounds are checked: bytes in flight (produced but not yet consumed, which counts
 * socket buffers as well) and memory still referenced after a full GC.
 */

const TOTAL_BYTES = 100 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
/** Loopback socket buffers on three connections plus stream high-water marks stay far below this. */
const IN_FLIGHT_BOUND = 32 * 1024 * 1024;
const RETAINED_BOUND = 32 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** TOTAL_BYTES of the same chunk, counting what has been handed out. */
function source(counter: { produced: number }): Readable {
  return new Readable({
    read() {
      if (counter.produced >= TOTAL_BYTES) return void this.push(null);
      counter.produced += CHUNK.length;
      this.push(CHUNK);
    },
  });
}

/** Reads a stream slowly (a pause every chunk), counting what arrived. */
async function drainSlowly(stream: AsyncIterable<Buffer>, counter: { consumed: number }): Promise<void> {
  for await (const chunk of stream) {
    counter.consumed += chunk.length;
    await sleep(1);
  }
}

/** Samples while `work` runs: largest produced-but-unconsumed byte count and largest post-GC memory growth. */
async function measure(counter: { produced: number; consumed: number }, work: Promise<unknown>) {
  collectGarbage();
  const baseline = retained();
  let maxInFlight = 0;
  let maxRetained = 0;
  let done = false;
  void work.finally(() => (done = true));
  while (!done) {
    maxInFlight = Math.max(maxInFlight, counter.produced - counter.consumed);
    collectGarbage();
    maxRetained = Math.max(maxRetained, retained() - baseline);
    await sleep(25);
  }
  await work;
  return { maxInFlight, maxRetained };
}

function retained(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function startUpstream() {
  const upload = { produced: 0, consumed: 0 };
  const download = { produced: 0, consumed: 0 };
  const server = createServer(async (req, res) => {
    if (req.method === 'POST') {
      await drainSlowly(req, upload);
      res.end(String(upload.consumed));
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      source(download).pipe(res);
    }
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, upload, download, stop: () => close(server) };
}

const jwks = useJwksServer();
const upstream = useStarted(startUpstream);
const sidecar = useTestSidecar(() => ({
  mode: 'proxy',
  upstream: upstream().url,
  issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
  routes: [{ path: '/api/files/**', scopes: ['files'] }],
  limits: { bodyBytes: 2 * TOTAL_BYTES },
}));
const token = () => jwks().sign({ aud: 'orders-api', sub: 'user-1', scope: 'files' });

describe('large bodies stream through without being buffered', () => {
  test('100 MB uploaded chunked reaches a slow upstream with bounded memory', async () => {
    const jwt = await token();
    const counter = upstream().upload;
    const upload = new Promise<string>((resolve, reject) => {
      const request = httpRequest(`${sidecar().dataPlaneUrl}/api/files/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${jwt}`, 'transfer-encoding': 'chunked' },
      });
      request.on('response', async (response: IncomingMessage) => {
        let text = '';
        for await (const chunk of response) text += (chunk as Buffer).toString();
        resolve(text);
      });
      request.on('error', reject);
      source(counter).pipe(request);
    });
    const { maxInFlight, maxRetained } = await measure(counter, upload);
    console.info(`upload: 100 MB, peak in flight ${mb(maxInFlight)}, peak retained memory growth ${mb(maxRetained)}`);
    expect(await upload).toBe(String(TOTAL_BYTES));
    expect(maxInFlight).toBeLessThan(IN_FLIGHT_BOUND);
    expect(maxRetained).toBeLessThan(RETAINED_BOUND);
  });

  test('100 MB downloaded reaches a slow client with bounded memory', async () => {
    const counter = upstream().download;
    const response = await sidecar().request('/api/files/download', { headers: { authorization: `Bearer ${await token()}` } });
    expect(response.status).toBe(200);
    const download = drainSlowly(Readable.fromWeb(response.body! as never), counter);
    const { maxInFlight, maxRetained } = await measure(counter, download);
    console.info(`download: 100 MB, peak in flight ${mb(maxInFlight)}, peak retained memory growth ${mb(maxRetained)}`);
    expect(counter.consumed).toBe(TOTAL_BYTES);
    expect(maxInFlight).toBeLessThan(IN_FLIGHT_BOUND);
    expect(maxRetained).toBeLessThan(RETAINED_BOUND);
  });
});
