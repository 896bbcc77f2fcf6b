import type { ClientRequest, IncomingMessage } from 'node:http';
import { request as httpRequest, STATUS_CODES } from '../../platform/node-http.js';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../logging/logger.js';
import type { AccessGate } from '../gate/access-gate.js';
import { credentialAndTraceHeaders } from '../forward-auth/original-request.js';
import { HOP_BY_HOP_HEADERS } from './hop-by-hop.js';
import { SHUTTING_DOWN, UNSUPPORTED_UPGRADE, UPSTREAM_TIMEOUT, upstreamFailure } from './answers.js';
import { upstreamTarget, type UpstreamRequestHeaders } from './request-headers.js';

export interface WebSocketProxyOptions {
  gate: AccessGate;
  headers: UpstreamRequestHeaders;
  upstream: URL;
  /** Bound on connecting and on the upstream's handshake answer. */
  timeoutMs: number;
  logger: Logger;
}

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * WebSocket handshakes (the server's `upgrade` event): decided by the gate like any request, sent to the upstream
 * with the same header filtering and identity headers, and turned into a tunnel piped both ways only when the
 * upstream answers 101. Any other answer is relayed and the connection closed, so no client gets a raw byte pipe to
 * the app that the gate has not seen. Other upgrades (h2c above all, which would carry requests past the gate)
 * are refused.
 */
export class WebSocketProxy {
  private readonly tunnels = new Set<Duplex>();
  private readonly upstreamHost: string;
  private readonly upstreamPort: number;
  private closing = false;

  constructor(private readonly options: WebSocketProxyOptions) {
    this.upstreamHost = options.upstream.hostname.replace(/^\[(.*)\]$/, '$1');
    this.upstreamPort = Number(options.upstream.port) || 80;
  }

  /** The server's `upgrade` listener. */
  readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', ignoreError);
    this.handle(request, socket, head).catch((error: unknown) => {
      this.options.logger.error({ event: 'websocket_error', err: error }, 'WebSocket handshake failed');
      socket.destroy();
    });
  };

  /**
   * Refuses new handshakes; open tunnels (and those whose handshake is under way) may run until `boundMs`, so the
   * app can close them itself, then are cut. The server's close waits for them: they are still its connections.
   */
  drain(boundMs: number): void {
    this.closing = true;
    setTimeout(() => {
      for (const socket of this.tunnels) socket.destroy();
    }, boundMs).unref();
  }

  private async handle(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closing) return refuse(socket, SHUTTING_DOWN);
    const protocol = request.headers.upgrade;
    if (protocol?.toLowerCase() !== 'websocket') return refuse(socket, UNSUPPORTED_UPGRADE);
    const decision = await this.options.gate.decide({
      method: request.method ?? 'GET',
      target: request.url ?? '/',
      ...credentialAndTraceHeaders(request.rawHeaders),
    });
    if (socket.destroyed) return;
    if (!decision.allowed) return refuse(socket, decision.denial!);

    const upstreamRequest = httpRequest({
      host: this.upstreamHost,
      port: this.upstreamPort,
      method: request.method,
      path: upstreamTarget(decision),
      headers: this.options.headers.build(request, decision.identityHeaders, decision.trace?.traceparent(), protocol),
      agent: false,
      timeout: this.options.timeoutMs,
    });
    // Once the upstream has answered, a late timeout or error can only cut the connection: a second answer
    // would land inside the first.
    let answered = false;
    const fail = (answer: Answer): void => {
      if (answered) socket.destroy();
      else refuse(socket, answer);
      answered = true;
      upstreamRequest.destroy();
    };
    socket.once('close', () => upstreamRequest.destroy());
    upstreamRequest.once('timeout', () => fail(UPSTREAM_TIMEOUT));
    upstreamRequest.on('error', (error: NodeJS.ErrnoException) => {
      if (!answered && !socket.destroyed) this.options.logger.warn({ event: 'upstream_error', code: error.code, upgrade: true, path: decision.path }, 'upstream handshake failed');
      fail(upstreamFailure(error));
    });
    upstreamRequest.once('response', (response: IncomingMessage) => {
      answered = true;
      relay(response, socket);
    });
    upstreamRequest.once('upgrade', (response: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
      answered = true;
      this.tunnel(upstreamRequest, response, socket, head, upstreamSocket, upstreamHead);
    });
    upstreamRequest.end();
  }

  private tunnel(upstreamRequest: ClientRequest, response: IncomingMessage, client: Duplex, clientHead: Buffer, upstream: Socket, upstreamHead: Buffer): void {
    upstreamRequest.removeAllListeners('timeout');
    upstream.setTimeout(0);
    upstream.on('error', ignoreError);
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    client.write(`HTTP/1.1 101 ${STATUS_CODES[101]}\r\n${headerLines(response.rawHeaders, false)}\r\n`);
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (clientHead.length > 0) upstream.write(clientHead);
    this.tunnels.add(client);
    const cut = (): void => {
      this.tunnels.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', cut);
    upstream.once('close', cut);
    upstream.pipe(client);
    client.pipe(upstream);
  }
}

function ignoreError(): void {
  // The socket is destroyed on error; its counterpart follows through the 'close' handlers.
}

/** The upstream refused the handshake: its answer goes to the client, delimited by closing the connection. */
function relay(response: IncomingMessage, client: Duplex): void {
  if (client.destroyed) {
    response.destroy();
    return;
  }
  const status = response.statusCode ?? 502;
  client.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${headerLines(response.rawHeaders, true)}connection: close\r\n\r\n`);
  response.pipe(client);
}

/** Raw header lines; `framing` drops hop-by-hop and length headers, for a body re-framed by connection close. */
function headerLines(rawHeaders: string[], framing: boolean): string {
  let lines = '';
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!;
    if (framing) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP_HEADERS.has(lower) || lower === 'content-length') continue;
    }
    lines += `${name}: ${rawHeaders[index + 1]!}\r\n`;
  }
  return lines;
}

/** Answers a handshake tokenwatch will not proxy and closes the connection. */
function refuse(socket: Duplex, answer: Answer): void {
  if (socket.destroyed || socket.writableEnded) return;
  let text = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n`;
  for (const [name, value] of Object.entries(answer.headers)) text += `${name}: ${value}\r\n`;
  text += `content-length: ${Buffer.byteLength(answer.body)}\r\nconnection: close\r\n\r\n${answer.body}`;
  socket.end(text, () => socket.destroy());
}
