import { TokenwatchError, type ErrorCode } from '../errors.js';

/** Why a delivery to an Alertmanager peer failed (src/errors.ts); callers branch on `code`, never on text. */
export type AlertmanagerErrorCode = Extract<ErrorCode, `ERR_ALERTMANAGER_${string}`>;

export class AlertmanagerError extends TokenwatchError {
  override readonly name = 'AlertmanagerError';

  constructor(
    readonly code: AlertmanagerErrorCode,
    readonly url: string,
    message: string,
  ) {
    super(`${url}: ${message}`);
  }
}
