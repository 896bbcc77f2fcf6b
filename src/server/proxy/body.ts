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
