import { TokenwatchError, type ErrorCode } from '../errors.js';
import { FAILURE_REASONS, type FailureReason } from './reasons.js';
import type { CacheOutcome } from './token-cache.js';

type AuthErrorCode = Extract<ErrorCode, `ERR_AUTH_${string}`>;

const AUTH_ERROR_CODES = Object.fromEntries(FAILURE_REASONS.map((reason) => [reason, `ERR_AUTH_${reason.toUpperCase()}`])) as Record<
  FailureReason,
  AuthErrorCode
>;

/** What telemetry learns of a failure: the issuer, kid and cache outcome, where the validator got that far. */
export interface FailureContext {
  issuer?: string;
  kid?: string;
  cache: CacheOutcome;
}

/** RFC 6750 section 3.1 error codes. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/**
 * A validation failure with a stable reason code. `description` is safe to send to the client and to log:
 * it never contains the token or any part of it.
 *
 * It is a TokenwatchError (`instanceof TokenwatchError` and `instanceof Error` hold) whose constructor does not run
 * Error's: a refused token is routine, not a fault, and capturing a stack trace for each one costs more than the rest
 * of a refusal (bench/ profiles). The thrower's stack says nothing useful here anyway; the reason code does.
 */
export class AuthFailure {
  readonly name = 'AuthFailure';
  readonly message: string;
  readonly status: 400 | 401 | 403 | 503;
  readonly bearerError: BearerErrorCode | undefined;
  readonly requiredScopes: readonly string[] | undefined;
  /** Issuer, kid and cache outcome where known; set by the validator for telemetry. */
  context: FailureContext | undefined;

  constructor(
    readonly reason: FailureReason,
    readonly description: string,
    options: { invalidRequest?: boolean; requiredScopes?: readonly string[] } = {},
  ) {
    this.message = description;
    if (options.invalidRequest) {
      this.status = 400;
      this.bearerError = 'invalid_request';
    } else if (reason === 'missing_token') {
      this.status = 401;
      this.bearerError = undefined;
    } else if (reason === 'insufficient_scope') {
      this.status = 403;
      this.bearerError = 'insufficient_scope';
    } else if (reason === 'jwks_unavailable') {
      this.status = 503;
      this.bearerError = undefined;
    } else {
      this.status = 401;
      this.bearerError = 'invalid_token';
    }
    this.requiredScopes = options.requiredScopes;
    this.context = undefined;
  }

  get code(): AuthErrorCode {
    return AUTH_ERROR_CODES[this.reason];
  }
}
// The class cannot `extends TokenwatchError` without running Error's constructor; the prototype chain and this
// declaration give it the same place in the hierarchy.
Object.setPrototypeOf(AuthFailure.prototype, TokenwatchError.prototype);
export interface AuthFailure extends Omit<TokenwatchError, 'code'> {}

/** A request that carries credentials in a way RFC 6750 forbids (two tokens, two headers...). */
export function invalidRequest(description: string): AuthFailure {
  return new AuthFailure('malformed', description, { invalidRequest: true });
}
