import { TokenwatchError, type ErrorCode } from '../errors.js';
/** What can go wrong around the event followers. */
export type IdpEventsErrorCode = Extract<ErrorCode, `ERR_IDP_EVENTS_${string}`>;

export class IdpEventsError extends TokenwatchError {
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
