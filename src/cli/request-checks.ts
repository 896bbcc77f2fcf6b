import type { JWTPayload } from 'jose';
import { scopesOf } from '../auth/identity-headers.js';
import type { Config } from '../config/schema.js';
import type { GateDecision } from '../server/gate/access-gate.js';
import { show, type Check } from './format.js';

/** The request `inspect-token --method --path` asks about. */
export interface InspectedRequest {
  method: string;
  /** Origin-form target as a client sends it: path and query, not yet normalised. */
  target: string;
}

/**
 * What the sidecar's own access decision made of the token on one request, in words: the path as the routes see
 * it, the route that matched, and the route's scopes against the token's, each missing one named. The decision
 * is the AccessGate's (the sidecar's code), so these lines explain a 403 the way the sidecar reached it.
 */
export function requestChecks(request: InspectedRequest, decision: GateDecision, config: Config, claims: Readonly<Record<string, unknown>>): Check[] {
  if (decision.path === undefined || decision.route === undefined) {
    const description = decision.denial ? (JSON.parse(decision.denial.body) as { error_description?: string }).error_description : undefined;
    return [{ name: 'path', status: 'fail', detail: `${show(request.target)} is refused before any route is matched: ${description ?? 'malformed'}` }];
  }
  const route = decision.route;
  const checks: Check[] = [
    { name: 'path', status: 'pass', detail: pathDetail(request.target, decision.path, decision.query) },
    { name: 'route', status: route.deny && route.enforcement === 'enforce' ? 'fail' : 'pass', detail: routeDetail(request.method, decision, config) },
  ];
  if (route.public || route.deny) return checks;
  const tokenScopes = scopesOf(claims as JWTPayload);
  const missing = route.scopes.filter((scope) => !tokenScopes.has(scope));
  const has = `the token has ${[...tokenScopes].map(show).join(' ') || 'no scopes'}`;
  if (route.scopes.length === 0) checks.push({ name: 'scopes', status: 'pass', detail: `the route requires none (${has})` });
  else if (missing.length === 0) checks.push({ name: 'scopes', status: 'pass', detail: `has every required scope: ${route.scopes.join(' ')}` });
  else checks.push({ name: 'scopes', status: 'fail', detail: `missing ${missing.join(' ')} (the route requires ${route.scopes.join(' ')}; ${has})` });
  return checks;
}

function pathDetail(target: string, path: string, query: string | undefined): string {
  const rawPath = query === undefined ? target : target.slice(0, target.indexOf('?'));
  const matched = rawPath === path ? path : `${show(rawPath)} is matched as ${path}`;
  return query === undefined ? matched : `${matched} (the query takes no part in route matching)`;
}

function routeDetail(method: string, decision: GateDecision, config: Config): string {
  const route = decision.route!;
  const what = route.public ? 'public: no token is checked' : route.deny ? 'deny: no token is accepted' : route.scopes.length > 0 ? `requires ${route.scopes.join(' ')}` : 'any valid token';
  const reportOnly = route.enforcement === 'report-only' ? '; enforcement report-only: a failure is let through and logged' : '';
  if (route.index === -1) return `no route matches ${method} ${decision.path}: defaultRoute ${config.defaultRoute} (${what})${reportOnly}`;
  const methods = config.routes[route.index]?.methods;
  return `routes[${route.index}] ${route.pattern}${methods ? ` ${methods.join(', ')}` : ''}: ${what}${reportOnly}`;
}
