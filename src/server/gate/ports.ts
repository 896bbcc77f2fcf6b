import type { AuthFailure } from '../../auth/errors.js';
import type { CacheOutcome } from '../../auth/token-cache.js';
import type { VerifiedToken } from '../../auth/verified-token.js';
import type { RouteRule } from '../../policy/routes.js';

/**
 * What the gate shows the code around it: the request it decides, the one record of each finished validation, and
 * the ports telemetry plugs into (observers, tracing). Telemetry implements these; the gate imports nothing of it.
 */

/** The request whose access is decided: in forward-auth mode the original request, as the proxy reported it. */
export interface GateRequest {
  readonly method: string;
  /** Origin-form target: path and query, not yet normalised. */
  readonly target: string;
  /** Every Authorization header value of the request. */
  readonly authorization: readonly string[];
  /** W3C trace context headers of the request, when it carried them. */
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}

/**
 * One finished token validation, written once by the gate and read as it is by every observer (metrics, audit log)
 * and by the validation span. Each fact has one field: readers never work out the issuer, kid or cache again.
 */
export interface ValidationRecord {
  readonly request: GateRequest;
  readonly route: RouteRule;
  /** The verified token; also set when the route's scope check then refused it (`insufficient_scope`). */
  readonly token: VerifiedToken | undefined;
  /** Why the token was refused; undefined for a success. */
  readonly failure: AuthFailure | undefined;
  /** The token's issuer, or the issuer a failed token was traced to. */
  readonly issuer: string | undefined;
  /** The kid of the key that verified the token, or the failed token's kid. */
  readonly kid: string | undefined;
  /** Whether the token cache answered; undefined when the validation failed before the cache was asked. */
  readonly cache: CacheOutcome | undefined;
  /** The answer's HTTP status: 200 when the request goes through. */
  readonly status: number;
  /** A failure that report-only enforcement let through. */
  readonly letThrough: boolean;
  readonly seconds: number;
  /** The validation span, when tracing is on. */
  readonly trace: ValidationSpan | undefined;
}

export interface GateObserver {
  validated(record: ValidationRecord): void;
}

/** The span of one validation, recorded or not: what the gate, the upstream request and the audit log read of it. */
export interface ValidationSpan {
  /** Trace id: 32 lowercase hex digits. */
  readonly traceId: string;
  /** True when the span is recorded and exported: only then does the gate `end` it. */
  readonly recording: boolean;
  /** `traceparent` for the request to the upstream: this span as parent, with its sampled flag. */
  traceparent(): string;
}

/** Spans for token validation. Absent (undefined) when tracing is off, so the request path does no tracing work at all. */
export interface ValidationTracing {
  /** A span for `request`, child of its trace context headers; `startTime` in milliseconds since the Unix epoch. */
  start(request: GateRequest, startTime: number): ValidationSpan;
  /** Ends a recording span with the validation's record. */
  end(span: ValidationSpan, record: ValidationRecord): void;
}
