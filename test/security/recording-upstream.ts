import { createServer } from 'node:http';
import { close, listen } from '../support/lifecycle.js';

/** What the app behind tokenwatch received: method, target and header lines exactly as they arrived. */
export interface Arrival {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
}

/** An app on loopback that answers 200 to everything and records every request that reaches it. */
export async function startRecordingUpstream() {
  const arrivals: Arrival[] = [];
  const server = createServer((req, res) => {
    arrivals.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('app'));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, arrivals, stop: () => close(server) };
}

/** The values of every header that a CGI, WSGI, Rack or PHP app would read as `name` (letters, digits, `-`). */
export function asAppReads(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index]!.toLowerCase().replace(/[^a-z0-9]/g, '-') === name) values.push(rawHeaders[index + 1]!);
  }
  return values;
}
