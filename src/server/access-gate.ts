import { AuthFailure } from '../auth/errors.js';
import { extractBearerToken } from '../auth/extract.js';
import type { Validation, TokenValidator } from '../auth/verify.js';
import type { VerifiedToken } from '../auth/verified-token.js';
import { PathRejected, parseRequestTarget } from '../policy/normalize.js';
import type { RouteRule, RouteTable } from '../policy/routes.js';
import type { Answers, Denial } from './answers.js';

/** The request whose access is decided: in forward-auth mode the original request, as the proxy reported it. */
export interface GateRequest {
  readonly method: string;
  /** Origin-form target: path and query, not yet normalised. */
  readonly target: string;
  /** Every Authorization header value of the request. */
  readonly authorization: readonly string[];
  /** W3C trace id of the request, when it carried one: joins audit events to traces. */
  readonly traceId?: string | undefined;
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
}

/** One finished token validation, reported to telemetry (metrics, spans, audit log). */
export interface ValidationReport {
  readonly request: GateRequest;
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
    let validation: Validation | undefined;
    let failure: AuthFailure | undefined;
    try {
      const token = extractBearerToken({ authorization: request.authorization, query }, this.allowQueryToken);
      if (token === undefined) throw new AuthFailure('missing_token', 'a bearer token is required');
      validation = await this.validator.validate(token);
      if (!hasScopes(validation.token, route.scopes)) {
        throw new AuthFailure('insufficient_scope', 'the token lacks a scope this route requires', { requiredScopes: route.scopes });
      }
    } catch (error) {
      if (!(error instanceof AuthFailure)) throw error;
      failure = error;
    }

    let decision: GateDecision;
    if (!failure) decision = allow(path, query, route, validation!.token.identityHeaders, validation!.token, undefined);
    else if (route.enforcement === 'report-only') decision = allow(path, query, route, NO_HEADERS, undefined, failure);
    else decision = deny(this.answers.forFailure(failure), path, query, route, failure);

    this.observer?.validated({ request, traceId: request.traceId, route, decision, validation, failure, seconds: (performance.now() - started) / 1000 });
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
): GateDecision {
  return { allowed: true, denial: undefined, path, query, route, identityHeaders, token, failure };
}

function deny(
  denial: Denial,
  path: string | undefined,
  query: string | undefined,
  route: RouteRule | undefined,
  failure: AuthFailure | undefined,
): GateDecision {
  return { allowed: false, denial, path, query, route, identityHeaders: NO_HEADERS, token: undefined, failure };
}
