import { createServer } from 'node:http';

/**
 * A stand-in OTLP/HTTP collector for the telemetry suite: answers 200 with an empty response to every POST
 * (/v1/traces and whatever else an SDK sends) and counts what arrived. Spans are counted without decoding them: the
 * sink shares the load generator's core, and parsing every export (megabytes a second at a 10% sampler) took enough
 * of that core to slow the load generator, and so the row it measured. In protobuf (the default encoding) the walk
 * reads only the tags and lengths of the two message levels above the spans; in JSON it counts `"spanId":` members.
 * GET /stats answers `{ requests, bytes, spans }`, so the suite can show that the sampled share of spans really left
 * the process.
 */

const stats = { requests: 0, bytes: 0, spans: 0, undecodable: 0 };
const SPAN_ID_MEMBER = Buffer.from('"spanId":');

/** A varint at `at`: [value, offset after it]. Lengths in an export fit in 32 bits. */
function varint(bytes, at) {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = bytes[at++];
    if (byte === undefined) throw new Error('truncated');
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, at];
  }
  throw new Error('varint too long');
}

/** Calls `each(field, start, end)` for every length-delimited field of the message in bytes[start, end). */
function lengthDelimited(bytes, start, end, each) {
  let at = start;
  while (at < end) {
    let tag;
    [tag, at] = varint(bytes, at);
    const wire = tag & 7;
    if (wire === 0) [, at] = varint(bytes, at);
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      let length;
      [length, at] = varint(bytes, at);
      each(tag >>> 3, at, at + length);
      at += length;
    } else throw new Error(`wire type ${wire}`);
  }
}

/** Spans of a protobuf ExportTraceServiceRequest: resource_spans (1) > scope_spans (2) > spans (2). */
function countProtobufSpans(body) {
  let spans = 0;
  lengthDelimited(body, 0, body.length, (field, start, end) => {
    if (field !== 1) return;
    lengthDelimited(body, start, end, (field, start, end) => {
      if (field !== 2) return;
      lengthDelimited(body, start, end, (field) => {
        if (field === 2) spans += 1;
      });
    });
  });
  return spans;
}

function countJsonSpans(body) {
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
    const contentType = request.headers['content-type'] ?? '';
    if (request.url === '/v1/traces' && contentType === 'application/x-protobuf') {
      try {
        stats.spans += countProtobufSpans(body);
      } catch {
        stats.undecodable += 1;
      }
      return void response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    }
    if (request.url === '/v1/traces' && contentType.includes('json')) stats.spans += countJsonSpans(body);
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
