import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { TokenwatchError } from '../../errors.js';

/** A chunked request body grew past limits.bodyBytes on its way to the upstream. */
export class BodyTooLarge extends TokenwatchError {
  override readonly name = 'BodyTooLarge';
  readonly code = 'ERR_BODY_TOO_LARGE';
}

/**
 * What a request body is, before anything is read: none, one whose declared length is within the limit (Node's
 * parser then delivers exactly that many bytes), one declared too large (413 at once), or a chunked body whose size
 * is only known at its end.
 */
export type BodyPlan = 'none' | 'sized' | 'too-large' | 'chunked';

export function planBody(request: IncomingMessage, limit: number): BodyPlan {
  if (request.headers['transfer-encoding'] !== undefined) return 'chunked';
  const declared = request.headers['content-length'];
  if (declared === undefined || declared === '0') return 'none';
  return Number(declared) > limit ? 'too-large' : 'sized';
}

/** A refused request's unread body up to this size is read and discarded, so its connection can carry the next one. */
const DRAIN_BYTES = 64 * 1024;
/** How long a drained body may take to arrive before its connection is closed after all. */
const DRAIN_TIMEOUT_MS = 5_000;

/**
 * Whether a refused request's connection must close after the answer. A request whose body has arrived (or that
 * has none) leaves the connection ready for the next request: a client with an expired token refreshes it and
 * retries on the same connection. A small declared body still on its way is read and discarded by Node once the
 * answer is sent, within DRAIN_TIMEOUT_MS. A chunked body (length unknown) or a large one is never read: the
 * connection closes, so no unread byte can be parsed as a request.
 */
export function closesAfterRefusal(request: IncomingMessage, plan: BodyPlan): boolean {
  if (plan === 'none' || request.complete) return false;
  if (plan !== 'sized' || Number(request.headers['content-length']) > DRAIN_BYTES) return true;
  const deadline = setTimeout(() => request.socket.destroy(), DRAIN_TIMEOUT_MS);
  deadline.unref();
  request.once('end', () => clearTimeout(deadline));
  return false;
}

/** Passes a chunked body through, counting; fails with BodyTooLarge at the first byte past the limit. */
export class BodyLimit extends Transform {
  private seen = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) done(new BodyTooLarge(`the request body exceeds ${this.limit} bytes`));
    else done(null, chunk);
  }
}
