import { createServer, type Server } from 'node:http';
import { createServer as createHttp2Server, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { decodeTraceRequest } from './otlp-protobuf.js';

export interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  /** OTLP's kind: 1 internal, 2 server, 3 client... (the API's SpanKind + 1). */
  kind: number;
  traceState: string | undefined;
  /** Nanoseconds since the Unix epoch. */
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  /** OTLP flags: the W3C trace flags in the low byte, bit 9 (0x200) set when the parent is remote. */
  flags: number;
  scope: string;
  /** The resource's attributes. */
  resource: Record<string, unknown>;
  status: { code?: number; message?: string };
  attributes: Record<string, unknown>;
}

export interface OtlpReceiver {
  endpoint: string;
  spans: ReceivedSpan[];
  requests: number;
  /** The path of every request, in order (`/v1/traces`, `/v1/metrics`, ...; the gRPC method's path over gRPC). */
  paths: string[];
  /** The content type of every request, in order. */
  contentTypes: string[];
  stop(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
}

/**
 * A real OTLP receiver on loopback. Over HTTP (the default) it decodes what an exporter POSTs to /v1/traces, in the
 * JSON or the protobuf encoding; with `grpc`, it is an HTTP/2 (h2c) gRPC server for TraceService/Export.
 */
export async function startOtlpReceiver(options: { grpc?: boolean; refuse?: boolean } = {}): Promise<OtlpReceiver> {
  const receiver: OtlpReceiver = { endpoint: '', spans: [], requests: 0, paths: [], contentTypes: [], stop: async () => {} };
  if (options.grpc) return startGrpcReceiver(receiver, options.refuse === true);
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      receiver.requests += 1;
      receiver.paths.push(request.url ?? '');
      const contentType = request.headers['content-type'] ?? '';
      receiver.contentTypes.push(contentType);
      // Refusing: 400, which OTLP/HTTP exporters do not retry.
      if (options.refuse) return void response.writeHead(400, { 'content-type': 'text/plain' }).end('refused');
      if (request.url === '/v1/traces' && contentType === 'application/x-protobuf') {
        receiver.spans.push(...decodeTraceRequest(Buffer.concat(chunks)));
        // An empty ExportTraceServiceResponse: everything accepted.
        return void response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      }
      if (request.url === '/v1/traces' && contentType.includes('json')) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans?: Array<{
            resource?: { attributes?: OtlpAttribute[] };
            scopeSpans?: Array<{ scope?: { name?: string }; spans?: Array<Record<string, unknown>> }>;
          }>;
        };
        for (const resource of body.resourceSpans ?? []) {
          const resourceAttributes = decodeAttributes(resource.resource?.attributes);
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) receiver.spans.push(decodeSpan(span, scope.scope?.name ?? '', resourceAttributes));
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.stop = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

const GRPC_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** gRPC over h2c: each message is framed as a compressed flag (0), a 4-byte big-endian length, then the protobuf. */
async function startGrpcReceiver(receiver: OtlpReceiver, refuse: boolean): Promise<OtlpReceiver> {
  const server: Http2Server = createHttp2Server();
  const streams = new Set<ServerHttp2Stream>();
  server.on('stream', (stream, headers) => {
    streams.add(stream);
    stream.on('close', () => streams.delete(stream));
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      receiver.requests += 1;
      receiver.paths.push(String(headers[':path']));
      receiver.contentTypes.push(String(headers['content-type']));
      // Refusing: INVALID_ARGUMENT (3), which gRPC exporters do not retry.
      let status = refuse ? '3' : '0';
      if (refuse) {
        // Nothing is decoded.
      } else if (headers[':path'] === GRPC_EXPORT_PATH) {
        const body = Buffer.concat(chunks);
        for (let at = 0; at + 5 <= body.length; ) {
          const length = body.readUInt32BE(at + 1);
          if (body[at] !== 0) status = '12'; // UNIMPLEMENTED: the exporter compresses only when told to
          else receiver.spans.push(...decodeTraceRequest(body.subarray(at + 5, at + 5 + length)));
          at += 5 + length;
        }
      } else {
        status = '12';
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': status }));
      // One empty ExportTraceServiceResponse message.
      stream.end(status === '0' ? Buffer.from([0, 0, 0, 0, 0]) : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.stop = () =>
    new Promise((resolve) => {
      for (const stream of streams) stream.close();
      server.close(() => resolve());
    });
  return receiver;
}

interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

function decodeSpan(span: Record<string, unknown>, scope: string, resource: Record<string, unknown>): ReceivedSpan {
  return {
    name: span.name as string,
    traceId: span.traceId as string,
    spanId: span.spanId as string,
    parentSpanId: (span.parentSpanId as string | undefined) || undefined,
    kind: span.kind as number,
    traceState: (span.traceState as string | undefined) || undefined,
    startTimeUnixNano: BigInt(span.startTimeUnixNano as string | number),
    endTimeUnixNano: BigInt(span.endTimeUnixNano as string | number),
    flags: (span.flags as number | undefined) ?? 0,
    scope,
    resource,
    status: (span.status as ReceivedSpan['status']) ?? {},
    attributes: decodeAttributes(span.attributes as OtlpAttribute[] | undefined),
  };
}

function decodeAttributes(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const attribute of list ?? []) attributes[attribute.key] = decodeValue(attribute.value);
  return attributes;
}

function decodeValue(value: OtlpValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(decodeValue);
  return undefined;
}
