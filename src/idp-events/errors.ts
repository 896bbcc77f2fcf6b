/** Stable codes for what can go wrong around the event followers; callers branch on `code`, never on text. */
export type IdpEventsErrorCode =
  /** Two sources name the same file: every line would be counted twice. */
  | 'ERR_IDP_EVENTS_DUPLICATE_PATH'
  /** The file (or its directory) cannot be stat'ed, opened or read; the follower keeps retrying. */
  | 'ERR_IDP_EVENTS_READ';

export class IdpEventsError extends Error {
  override readonly name = 'IdpEventsError';

  constructor(
    readonly code: IdpEventsErrorCode,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${message}`, options);
  }
}
