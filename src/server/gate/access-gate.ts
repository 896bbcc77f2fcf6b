import { AuthFailure } from '../../auth/errors.js';
import { extractBearerToken } from '../../auth/extract.js';
import type { Validation, TokenValidator } from '../../auth/verify.js';
import type { VerifiedToken } from '../../auth/verified-token.js';
import { PathRejected, parseRequestTarget } from '../../policy/normalize.js';
import type { RouteRule, RouteTable } from '../../policy/routes.js';
import type { Answers, Denial } from './answers.js';
import type { GateObserver, GateRequest, ValidationRecord, ValidationSpan, ValidationTracing } from './ports.js';

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
  /** The validation span when tracing is on: its `traceparent()` makes it the upstream request's parent. */
  readonly trace: ValidationSpan | undefined;
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

  /**
   * Synchronous whenever the validation is (a cache hit, a refusal before any signature is checked): a promise
   * only when a signature must be verified or keys fetched. Callers branch on `instanceof Promise`, so the hot path
   * allocates no promise and waits for no microtask.
   */
  decide(request: GateRequest): GateDecision | Promise<GateDecision> {
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
    const check: Check = { request, path, query, route, span, started };
    let pending: Validation | Promise<Validation>;
    try {
      const token = extractBearerToken({ authorization: request.authorization, query }, this.allowQueryToken);
      if (token === undefined) throw new AuthFailure('missing_token', 'a bearer token is required');
      pending = this.validator.validateNow(token);
    } catch (error) {
      return this.conclude(check, undefined, error);
    }
    if (pending instanceof Promise) {
      return pending.then(
        (validation) => this.conclude(check, validation, undefined),
        (error: unknown) => this.conclude(check, undefined, error),
      );
    }
    return this.conclude(check, pending, undefined);
  }

  /** Scopes, enforcement, the decision, and the report to telemetry, once the token is validated or refused. */
  private conclude(check: Check, validation: Validation | undefined, error: unknown): GateDecision {
    const { request, path, query, route, span, started } = check;
    let failure: AuthFailure | undefined;
    if (error !== undefined) {
      if (!(error instanceof AuthFailure)) throw error;
      failure = error;
    } else if (!hasScopes(validation!.token, route.scopes)) {
      failure = new AuthFailure('insufficient_scope', 'the token lacks a scope this route requires', { requiredScopes: route.scopes });
    }

    let decision: GateDecision;
    if (!failure) decision = allow(path, query, route, validation!.token.identityHeaders, validation!.token, undefined, span);
    else if (route.enforcement === 'report-only') decision = allow(path, query, route, NO_HEADERS, undefined, failure, span);
    else decision = deny(this.answers.forFailure(failure), path, query, route, failure);

    if (this.observer || span?.recording) {
      const token = validation?.token;
      const record: ValidationRecord = {
        request,
        route,
        token,
        failure,
        issuer: token?.issuer ?? failure?.context?.issuer,
        kid: token?.key.kid ?? failure?.context?.kid,
        cache: validation?.cache ?? failure?.context?.cache,
        status: decision.allowed ? 200 : decision.denial!.status,
        letThrough: failure !== undefined && decision.allowed,
        seconds: (performance.now() - started) / 1000,
        trace: span,
      };
      // Only a recorded span is ended: a dropped one has nothing to export.
      if (span?.recording) this.tracing!.end(span, record);
      this.observer?.validated(record);
    }
    return decision;
  }
}

/** What a validation under way carries from the request to its conclusion. */
interface Check {
  readonly request: GateRequest;
  readonly path: string;
  readonly query: string | undefined;
  readonly route: RouteRule;
  readonly span: ValidationSpan | undefined;
  readonly started: number;
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
  trace: ValidationSpan | undefined = undefined,
): GateDecision {
  return { allowed: true, denial: undefined, path, query, route, identityHeaders, token, failure, trace };
}

function deny(
  denial: Denial,
  path: string | undefined,
  query: string | undefined,
  route: RouteRule | undefined,
  failure: AuthFailure | undefined,
): GateDecision {
  return { allowed: false, denial, path, query, route, identityHeaders: NO_HEADERS, token: undefined, failure, trace: undefined };
}
