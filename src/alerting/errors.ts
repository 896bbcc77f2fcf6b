/** Stable codes for a failed delivery to an Alertmanager peer; callers branch on `code`, never on text. */
export type AlertmanagerErrorCode =
  /** The peer answered, but not with 2xx. */
  | 'ERR_ALERTMANAGER_STATUS'
  /** No answer within `anomaly.alertmanager.timeout`. */
  | 'ERR_ALERTMANAGER_TIMEOUT'
  /** Refused, reset or unresolvable. */
  | 'ERR_ALERTMANAGER_NETWORK';

export class AlertmanagerError extends Error {
  override readonly name = 'AlertmanagerError';

  constructor(
    readonly code: AlertmanagerErrorCode,
    readonly url: string,
    message: string,
  ) {
    super(`${url}: ${message}`);
  }
}
