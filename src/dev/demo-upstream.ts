import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from '../platform/node-http.js';
import type { AddressInfo } from 'node:net';

/**
 * The application behind tokenwatch in `tokenwatch dev`: it answers every request 200 with what it received, so
 * the identity headers tokenwatch adds (and the Authorization header it strips or keeps) are plain to see.
 */

export interface DemoUpstreamOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks an ephemeral port. */
  port?: number;
  /** Also echo the request body, as UTF-8 text. */
  echoBody?: boolean;
}

export interface DemoUpstream {
  /** e.g. http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  port: number;
  /** Requests answered so far. */
  readonly received: number;
  stop(): Promise<void>;
}

export interface DemoUpstreamEcho {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body?: string;
}

export async function startDemoUpstream(options: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
  const { host = '127.0.0.1', port = 0, echoBody = false } = options;
  let received = 0;

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    received += 1;
    const echo: DemoUpstreamEcho = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    const chunks: Buffer[] = [];
    // The body is read even when not echoed, so a client streaming one is never left blocked.
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (echoBody) echo.body = Buffer.concat(chunks).toString('utf8');
    const payload = JSON.stringify(echo);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  }

  const server = createServer((req, res) => {
    answer(req, res).catch(() => res.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: boundPort } = server.address() as AddressInfo;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    port: boundPort,
    get received() {
      return received;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
