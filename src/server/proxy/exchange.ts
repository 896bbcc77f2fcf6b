import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Logger } from '../../logging/logger.js';
import { BODY_TOO_LARGE, UPSTREAM_FAILED, upstreamFailure, writeProxyAnswer, type ProxyAnswer } from './answers.js';
import { BodyTooLarge } from './body.js';
import { responseHeaders } from './response-headers.js';
import { TokenwatchError } from '../../errors.js';
import type { RequestObserver } from '../http/request-observer.js';

export type UpstreamStatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'error';

export interface UpstreamObserver {
  upstreamAnswered(statusClass: UpstreamStatusClass, seconds: number): void;
}

const STATUS_CLASSES: readonly UpstreamStatusClass[] = ['error', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** What every exchange of one proxy listener shares, built once at start-up. */
export interface ExchangeContext {
  readonly logger: Logger;
  readonly observer: UpstreamObserver | undefined;
  readonly requests: RequestObserver | undefined;
}

/**
 * One client request's exchange with the upstream: an undici dispatch handler that writes the upstream's answer
 * straight onto the client's response as it arrives. No intermediate Readable, no AbortController, no promise per
 * request: those were a third of a proxied request's CPU time (bench/ proxy suite, docs/decisions/0004).
 *
 * Backpressure both ways: the request body is a stream undici reads as the upstream takes it; the response pauses
 * the upstream read whenever the client's socket is full and resumes on `drain`. A client that goes away aborts the
 * upstream request; an upstream failure before the response head gets tokenwatch's 502/504, after it the client
 * connection is cut (the status line has gone out, there is nothing truthful left to say).
 */
export class ProxyExchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private resumeUpstream: (() => void) | undefined;
  private answered = false;
  private finished = false;

  constructor(
    private readonly context: ExchangeContext,
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
    /** Path the gate matched, for the log line of a failed exchange. */
    private readonly path: string,
    /** The chunked-body limiter, when the request body goes through one. */
    private readonly limitedBody: NodeJS.ReadableStream | undefined,
    private readonly started: number,
  ) {
    response.once('close', this.clientClosed);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // The client may have gone while the request waited for a pooled connection.
    if (this.finished || this.response.destroyed) controller.abort(new ClientGone());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    // Informational answers (100 Continue, 103 Early Hints) are the upstream's business with this hop: the client
    // got its own 100 Continue from Node already.
    if (statusCode < 200) return;
    this.answered = true;
    this.context.observer?.upstreamAnswered(STATUS_CLASSES[Math.floor(statusCode / 100)] ?? 'error', (performance.now() - this.started) / 1000);
    // HTTP/1.1 allows any three digits; Node can only send 100-599.
    if (statusCode > 599) {
      this.refuseAnswer(controller);
      return;
    }
    try {
      // The reason phrase is Node's own, not the upstream's: it is free text nobody needs relayed.
      this.response.writeHead(statusCode, responseHeaders(controller.rawHeaders as Buffer[]));
    } catch {
      // A header value Node refuses to send (a control character llhttp let through).
      this.refuseAnswer(controller);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.finished) return;
    if (!this.response.write(chunk)) {
      controller.pause();
      // Made only when the client's socket is full: most exchanges never need it.
      this.resumeUpstream ??= () => this.controller?.resume();
      this.response.once('drain', this.resumeUpstream);
    }
  }

  onResponseEnd(): void {
    if (this.finished) return;
    this.finished = true;
    this.response.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.finished) return;
    if (error instanceof ClientGone || this.response.destroyed) {
      this.finished = true;
      return;
    }
    if (this.answered) {
      // The status line has gone out: cutting the connection is the only honest end.
      this.finished = true;
      this.response.destroy();
      return;
    }
    this.context.observer?.upstreamAnswered('error', (performance.now() - this.started) / 1000);
    if (error instanceof BodyTooLarge || (this.limitedBody as { errored?: unknown } | undefined)?.errored instanceof BodyTooLarge) {
      this.sendAnswer(BODY_TOO_LARGE);
      return;
    }
    const code = (error as { code?: unknown }).code;
    this.context.logger.warn({ event: 'upstream_error', code, method: this.request.method, path: this.path }, 'upstream request failed');
    const failure = upstreamFailure(error);
    this.context.requests?.requestFailed(failure.reason);
    this.sendAnswer(failure);
  }

  /** 502 for an upstream answer that cannot be relayed; answered first, as aborting reports back here at once. */
  private refuseAnswer(controller: Dispatcher.DispatchController): void {
    this.context.requests?.requestFailed('upstream_failed');
    this.sendAnswer(UPSTREAM_FAILED);
    controller.abort(new UnsendableStatus());
  }

  private sendAnswer(answer: ProxyAnswer): void {
    this.finished = true;
    // A request body not fully read would keep the connection busy: close it instead.
    writeProxyAnswer(this.response, answer, !this.request.complete);
  }

  private readonly clientClosed = (): void => {
    if (!this.response.writableFinished && !this.finished) {
      this.finished = true;
      this.controller?.abort(new ClientGone());
    }
  };
}

/** The client went away before its answer was written: the upstream request is dropped. */
class ClientGone extends TokenwatchError {
  override readonly name = 'ClientGone';
  readonly code = 'ERR_CLIENT_GONE';
}

/** The upstream's answer cannot be relayed (a status or header Node cannot send). */
class UnsendableStatus extends TokenwatchError {
  override readonly name = 'UnsendableStatus';
  readonly code = 'ERR_UPSTREAM_UNSENDABLE';
}
