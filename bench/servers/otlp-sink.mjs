import { createServer } from 'node:http';

/**
 * A stand-in OTLP/HTTP collector for the telemetry suite: answers 200 `{}` to every POST (/v1/traces and whatever
 * else an SDK sends) and counts what arrived. JSON trace exports are parsed to count spans; other encodings are only
 * counted as requests. GET /stats answers `{ requests, bytes, spans }`, so the suite can show that the sampled share
 * of spans really left the process.
 */

const stats = { requests: 0, bytes: 0, spans: 0 };

function countSpans(body) {
  const payload = JSON.parse(body);
  let spans = 0;
  for (const resource of payload.resourceSpans ?? []) for (const scope of resource.scopeSpans ?? []) spans += scope.spans?.length ?? 0;
  return spans;
}

const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/stats') {
    return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
  }
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    stats.requests += 1;
    stats.bytes += body.length;
    if (request.url === '/v1/traces' && /json/.test(request.headers['content-type'] ?? '')) stats.spans += countSpans(body.toString('utf8'));
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
});

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
