import { createServer } from 'node:http';
import { serveUntilStopped } from './serve.mjs';

/**
 * The bare upstream of the proxy suite: node:http answering 200 with the 2-byte body `ok` to every request, with no
 * framework and no work, so that what a proxy in front of it adds is the difference. Keep-alive is kept open as long
 * as the load runs (no keep-alive timeout), so proxies' upstream connection pools are never cut mid-run.
 */

const BODY = 'ok';
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length }).end(BODY);
});
serveUntilStopped(server);
