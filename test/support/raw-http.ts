import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-case header names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends one HTTP/1.1 request with exactly these header lines (duplicates, odd case and odd paths included, which
 * fetch and http.request would normalise) and reads the whole answer.
 */
export function rawRequest(baseUrl: string, method: string, target: string, headers: Array<[string, string]>): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${url.host}`, ...headers.map(([name, value]) => `${name}: ${value}`), 'Connection: close', '', ''];
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(lines.join('\r\n')));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => resolve(parseResponse(Buffer.concat(chunks).toString('latin1'))));
  });
}

/** One client connection kept open across requests, as a keep-alive client holds it. */
export interface KeptAliveConnection {
  /** Writes `bytes` (request lines, headers and any body, exactly as given) and resolves with the next answer. */
  send(bytes: string): Promise<RawResponse>;
  /** Writes bytes that belong to a request already sent (the rest of its body). */
  write(bytes: string): void;
  /** Whether the server has closed the connection. */
  readonly closed: boolean;
  /** Resolves once the connection has closed. */
  readonly whenClosed: Promise<void>;
  close(): void;
}

/** Opens one TCP connection; answers must carry Content-Length (tokenwatch's own answers do). */
export async function keptAliveConnection(baseUrl: string): Promise<KeptAliveConnection> {
  const url = new URL(baseUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffered = Buffer.alloc(0);
  let waiting: { resolve(response: RawResponse): void; reject(error: Error): void } | undefined;
  let closed = false;
  const whenClosed = new Promise<void>((resolve) => socket.once('close', () => ((closed = true), resolve())));
  const deliver = () => {
    const text = buffered.toString('latin1');
    const headerEnd = text.indexOf('\r\n\r\n');
    if (!waiting || headerEnd === -1) return;
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, headerEnd))?.[1] ?? 0);
    if (text.length < headerEnd + 4 + length) return;
    const response = parseResponse(text.slice(0, headerEnd + 4 + length));
    buffered = buffered.subarray(headerEnd + 4 + length);
    const current = waiting;
    waiting = undefined;
    current.resolve(response);
  };
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    deliver();
  });
  socket.on('error', () => undefined);
  void whenClosed.then(() => waiting?.reject(new Error('the server closed the connection before answering')));
  return {
    send(bytes) {
      if (closed) return Promise.reject(new Error('the server has closed the connection'));
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        socket.write(bytes);
        deliver();
      });
    },
    write: (bytes) => void socket.write(bytes),
    get closed() {
      return closed;
    },
    whenClosed,
    close: () => void socket.destroy(),
  };
}

function parseResponse(text: string): RawResponse {
  const headerEnd = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...headerLines] = text.slice(0, headerEnd).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] ? `${headers[name]}, ${value}` : value;
  }
  let body = text.slice(headerEnd + 4);
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body);
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

function unchunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

/**
 * Writes `bytes` exactly as given (request smuggling, pipelining, CONNECT: what no client library would send) and
 * returns everything the server wrote until it closed the connection, or until `waitMs` passed.
 */
export function rawExchange(baseUrl: string, bytes: string, waitMs = 1000): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(bytes, 'latin1'));
    const chunks: Buffer[] = [];
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? done() : reject(error)));
    socket.on('end', done);
  });
}
