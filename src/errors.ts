import type { FailureReason } from './auth/reasons.js';

/**
 * Every stable error code tokenwatch raises (jose's `util/errors.ts` model): callers branch on `code`, never on
 * message text. A code, once shipped, keeps its meaning; a new failure gets a new code.
 */
export type ErrorCode =
  /** A token or request refused by validation; the suffix is the failure reason (auth/reasons.ts). */
  | `ERR_AUTH_${Uppercase<FailureReason>}`
  /** A configuration that does not validate: every problem is listed with its key path. */
  | 'ERR_CONFIG_INVALID'
  /** A valid configuration that changes what cannot change while running (listener addresses, the mode). */
  | 'ERR_CONFIG_RELOAD_REFUSED'
  /** Discovery or JWKS could not be fetched: network or HTTP status, deadline, or an unusable document. */
  | 'ERR_IDP_FETCH_ERROR'
  | 'ERR_IDP_FETCH_TIMEOUT'
  | 'ERR_IDP_FETCH_INVALID'
  /** Two idpEvents sources name the same file: every line would be counted twice. */
  | 'ERR_IDP_EVENTS_DUPLICATE_PATH'
  /** An IdP event log (or its directory) cannot be stat'ed, opened or read; the follower keeps retrying. */
  | 'ERR_IDP_EVENTS_READ'
  /** A request target tokenwatch will not route (not origin-form, bad encoding, traversal). */
  | 'ERR_PATH_REJECTED'
  /** A forwarded-prefix header that does not match the request path. */
  | 'ERR_FORWARDED_PREFIX_MISMATCH'
  /** A request body over the configured limit. */
  | 'ERR_BODY_TOO_LARGE'
  /** The client went away before the upstream's answer was relayed. */
  | 'ERR_CLIENT_GONE'
  /** The upstream answered with a status line tokenwatch cannot relay. */
  | 'ERR_UPSTREAM_UNSENDABLE'
  /** `inspect-token` was given something that is not a compact JWS. */
  | 'ERR_TOKEN_DECODE'
  /** `tokenwatch dev` needs a package that production installs leave out (the embedded IdP's oidc-provider). */
  | 'ERR_DEV_DEPENDENCY_MISSING'
  /** An outbound exchange (IdP document, Alertmanager post) got no usable answer: deadline, network, or too much body. */
  | 'ERR_EXCHANGE_TIMEOUT'
  | 'ERR_EXCHANGE_NETWORK'
  | 'ERR_EXCHANGE_TOO_LARGE'
  /** An Alertmanager peer did not take alerts: a non-2xx answer, no answer within the timeout, or no connection. */
  | 'ERR_ALERTMANAGER_STATUS'
  | 'ERR_ALERTMANAGER_TIMEOUT'
  | 'ERR_ALERTMANAGER_NETWORK';

/** The base of every error tokenwatch raises: an Error with a stable code. */
export abstract class TokenwatchError extends Error {
  abstract readonly code: ErrorCode;
}
