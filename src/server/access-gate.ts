import { AuthFailure } from '../auth/errors.js';
import { extractBearerToken } from '../auth/extract.js';
import type { Validation, TokenValidator } from '../auth/verify.js';
import type { VerifiedToken } from '../auth/verified-token.js';
import { PathRejected, parseRequestTarget } from '../policy/normalize.js';
import type { RouteRule, RouteTable } from '../policy/routes.js';
import type { ValidationSpanFacts, ValidationTracing } from '../telemetry/tracing.js';
import type { Answers, Denial } from './answers.js';

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

export interface GateDecision {
  readonly allowed: boolean;
  /** Set when not allowed. */
  readonly denial: Denial | undefined;
  /** Normalised path (undefined when the path was refused). */
  readonly path: string | undefined;
  readonly query: string | undefined;
  readonly route: RouteRule | undefined;
  /** Headers to give the app; empty unless a token was verified and enforced. */
  readonly identityHeaders: ReadonlyArray<readonly [string, string]>;
  readonly token: VerifiedToken | undefined;
  /** The failure, also when report-only let the request through. */
  readonly failure: AuthFailure | undefined;
  /** `traceparent` for the upstream request when tracing is on (the validation span as parent). */
  readonly traceparent: string | undefined;
}

/** One finished token validation, reported to telemetry (metrics, spans, audit log). */
export interface ValidationReport {
  readonly request: GateRequest;
  /** Trace id of the validation span, when tracing is on. */
  readonly traceId: string | undefined;
  readonly route: RouteRule;
  readonly decision: GateDecision;
  readonly validation: Validation | undefined;
  readonly failure: AuthFailure | undefined;
  readonly seconds: number;
}

export interface GateObserver {
  validated(report: ValidationReport): void;
}

const NO_HEADERS: ReadonlyArray<readonly [string, string]> = [];

/**
 * The whole access decision, shared by forward-auth and proxy modes: normalise the path, match the route,
 * extract and validate the token, check the route's scopes, apply enforcement.
 */
export class AccessGate {
  constructor(
    private readonly routes: RouteTable,
    private readonly validator: TokenValidator,
    private readonly answers: Answers,
    private readonly allowQueryToken: boolean,
    private readonly observer: GateObserver | undefined,
    private readonly tracing: ValidationTracing | undefined,
  ) {}

  async decide(request: GateRequest): Promise<GateDecision> {
    let path: string;
    let query: string | undefined;
    try {
      ({ path, query } = parseRequestTarget(request.target));
    } catch (error) {
      if (!(error instanceof PathRejected)) throw error;
      return deny(this.answers.badPath(error.message), undefined, undefined, undefined, undefined);
    }
    const route = this.routes.match(request.method, path);
    if (route.public) return allow(path, query, route, NO_HEADERS, undefined, undefined);
    if (route.deny) {
      return route.enforcement === 'enforce'
        ? deny(this.answers.routeDenied, path, query, route, undefined)
        : allow(path, query, route, NO_HEADERS, undefined, undefined);
    }

    const started = performance.now();
    const span = this.tracing?.start(request, performance.timeOrigin + started);
    let validation: Validation | undefined;
    let failure: AuthFailure | undefined;
    try {
      const token = extractBearerToken({ authorization: request.authorization, query }, this.allowQueryToken);
      if (token === undefined) throw new AuthFailure('missing_token', 'a bearer token is required');
      const pending = this.validator.validateNow(token);
      validation = pending instanceof Promise ? await pending : pending;
      if (!hasScopes(validation.token, route.scopes)) {
        throw new AuthFailure('insufficient_scope', 'the token lacks a scope this route requires', { requiredScopes: route.scopes });
      }
    } catch (error) {
      if (!(error instanceof AuthFailure)) throw error;
      failure = error;
    }

    const traceparent = span ? this.tracing!.traceparentOf(span) : undefined;
    let decision: GateDecision;
    if (!failure) decision = allow(path, query, route, validation!.token.identityHeaders, validation!.token, undefined, traceparent);
    else if (route.enforcement === 'report-only') decision = allow(path, query, route, NO_HEADERS, undefined, failure, traceparent);
    else decision = deny(this.answers.forFailure(failure), path, query, route, failure);

    if (span) this.tracing!.end(span, spanFacts(route, validation, failure, decision.allowed));
    const report: ValidationReport = {
      request,
      traceId: span?.spanContext().traceId,
      route,
      decision,
      validation,
      failure,
      seconds: (performance.now() - started) / 1000,
    };
    this.observer?.validated(report);
    return decision;
  }
}

function hasScopes(token: VerifiedToken, required: readonly string[]): boolean {
  for (const scope of required) if (!token.scopes.has(scope)) return false;
  return true;
}

function allow(
  path: string,
  query: string | undefined,
  route: RouteRule,
  identityHeaders: ReadonlyArray<readonly [string, string]>,
  token: VerifiedToken | undefined,
  failure: AuthFailure | undefined,
  traceparent: string | undefined = undefined,
): GateDecision {
  return { allowed: true, denial: undefined, path, query, route, identityHeaders, token, failure, traceparent };
}

function deny(
  denial: Denial,
  path: string | undefined,
  query: string | undefined,
  route: RouteRule | undefined,
  failure: AuthFailure | undefined,
): GateDecision {
  return { allowed: false, denial, path, query, route, identityHeaders: NO_HEADERS, token: undefined, failure, traceparent: undefined };
}

function spanFacts(route: RouteRule, validation: Validation | undefined, failure: AuthFailure | undefined, allowed: boolean): ValidationSpanFacts {
  const token = validation?.token;
  return {
    result: failure ? 'failure' : 'success',
    reason: failure?.reason,
    description: failure?.description,
    issuer: token?.issuer ?? failure?.context?.issuer,
    clientId: token?.clientId,
    grantType: token?.grantType,
    scopes: token ? [...token.scopes] : undefined,
    kid: token?.key.kid ?? failure?.context?.kid,
    cache: validation?.cache ?? failure?.context?.cache,
    route: route.pattern,
    enforcement: route.enforcement,
    letThrough: failure !== undefined && allowed,
  };
}
