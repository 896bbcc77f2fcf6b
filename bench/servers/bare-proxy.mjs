import { Agent, createServer, request } from 'node:http';
import { serveUntilStopped } from './serve.mjs';

/**
 * The floor of a Node.js reverse proxy, for the footprint suite: node:http in front of the upstream given as argv[2],
 * over a keep-alive agent, with no authentication and no telemetry. What tokenwatch costs above it is its own.
 */

const upstream = new URL(process.argv[2]);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const server = createServer((incoming, outgoing) => {
  const forward = request({ host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers, agent }, (answer) => {
    outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(outgoing);
  });
  forward.on('error', () => outgoing.writeHead(502).end());
  incoming.pipe(forward);
});
serveUntilStopped(server);
