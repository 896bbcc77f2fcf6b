import { createServer } from 'node:http';

/**
 * A stand-in OTLP/HTTP collector for the telemetry suite: answers 200 `{}` to every POST (/v1/traces and whatever
 * else an SDK sends) and counts what arrived. Spans in JSON trace exports are counted by their `"spanId":` members,
 * a byte search: the sink shares the load generator's core, and parsing every export (megabytes a second at a 10%
 * sampler) took enough of that core to slow the load generator, and so the row it measured. Other encodings are
 * only counted as requests. GET /stats answers `{ requests, bytes, spans }`, so the suite can show that the sampled
 * share of spans really left the process.
 */

const stats = { requests: 0, bytes: 0, spans: 0 };
const SPAN_ID_MEMBER = Buffer.from('"spanId":');

function countSpans(body) {
  let spans = 0;
  for (let at = body.indexOf(SPAN_ID_MEMBER); at !== -1; at = body.indexOf(SPAN_ID_MEMBER, at + SPAN_ID_MEMBER.length)) spans += 1;
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
    if (request.url === '/v1/traces' && /json/.test(request.headers['content-type'] ?? '')) stats.spans += countSpans(body);
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
