import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { PostableAlert } from '../../src/alerting/index.js';
import { close, listen } from './lifecycle.js';

/**
 * A stand-in Alertmanager on loopback whose answer (status, delay) the test sets, for what the real one cannot be made
 * to do on cue (answer 503, answer slowly); it records every batch it accepted.
 */
export async function fakeAlertmanager() {
  let status = 200;
  let delayMs = 0;
  const accepted: PostableAlert[][] = [];
  let attempts = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      attempts += 1;
      setTimeout(() => {
        if (status === 200) accepted.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as PostableAlert[]);
        response.statusCode = status;
        response.end();
      }, delayMs);
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    attempts: () => attempts,
    answer(next: number, delay = 0) {
      status = next;
      delayMs = delay;
    },
    stop: () => close(server),
  };
}
