import { AuthFailure } from '../auth/errors.js';
import { IdentityHeaderMapper } from '../auth/identity-headers.js';
import { TokenCache } from '../auth/token-cache.js';
import { TrustedIssuer } from '../auth/trusted-issuer.js';
import { TokenValidator } from '../auth/verify.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { RouteTable } from '../policy/routes.js';
import { AccessGate, type GateDecision } from '../server/gate/access-gate.js';
import { Answers } from '../server/gate/answers.js';
import { configProblemLines } from './config-problems.js';
import { TokenDecodeError, decodeCompactJws, readTokenInput, type DecodedToken } from './decode-token.js';
import { MARKS, formatChecks, formatIso, formatTable, hasFailure, show, type Check } from './format.js';
import { requestChecks, type InspectedRequest } from './request-checks.js';
import { checkToken } from './token-checks.js';
import { timeRows } from './token-times.js';

export const EXIT_ACCEPTED = 0;
export const EXIT_REJECTED = 1;
export const EXIT_UNUSABLE = 2;

export interface InspectOptions {
  config?: string;
  /** With `path`: the request to decide, as the sidecar would (route match and scopes included). */
  method?: string;
  path?: string;
}

/**
 * `tokenwatch inspect-token TOKEN|- [--config FILE [--method M --path P]]`: the header and claims of a token (never
 * its signature) and, with a configuration, every check the sidecar makes with pass or fail and why, then the
 * verdict of the sidecar's own validator; with a request path, the route that matches it and its scopes, and the
 * verdict of the sidecar's access decision for that request. Exit 0 accepted (or decoded, without a
 * configuration), 1 rejected, 2 unusable token, configuration or options.
 */
export async function runInspectToken(
  tokenArg: string,
  options: InspectOptions,
  io: { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream },
): Promise<number> {
  const print = (lines: readonly string[]) => io.stdout.write(`${lines.join('\n')}\n`);
  if (options.path !== undefined && options.config === undefined) {
    print([`${MARKS.fail} --path needs --config: the routes are in the configuration`]);
    return EXIT_UNUSABLE;
  }
  let token: DecodedToken;
  try {
    token = decodeCompactJws(await readTokenInput(tokenArg, io.stdin));
  } catch (error) {
    if (!(error instanceof TokenDecodeError)) throw error;
    print([`${MARKS.fail} cannot decode the token: ${error.message}`]);
    return EXIT_UNUSABLE;
  }
  const nowSeconds = Date.now() / 1000;
  print(decodedLines(token, nowSeconds));
  if (options.config === undefined) return EXIT_ACCEPTED;

  let config: Config;
  try {
    config = await loadConfigFile(options.config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    print(['', ...configProblemLines(error)]);
    return EXIT_UNUSABLE;
  }
  const request = options.path === undefined ? undefined : { method: (options.method ?? 'GET').toUpperCase(), target: options.path };
  return validateAgainst(token, config, options.config, request, print);
}

function decodedLines(token: DecodedToken, nowSeconds: number): string[] {
  const times = timeRows(token.claims, nowSeconds);
  return [
    'header',
    JSON.stringify(token.header, null, 2),
    'claims',
    JSON.stringify(token.claims, null, 2),
    `signature: ${token.signatureLength} base64url characters (not shown)`,
    ...(times.length > 0 ? ['', `times (now ${formatIso(Math.floor(nowSeconds))})`, ...formatTable(times)] : []),
  ];
}

async function validateAgainst(
  token: DecodedToken,
  config: Config,
  file: string,
  request: InspectedRequest | undefined,
  print: (lines: readonly string[]) => void,
): Promise<number> {
  const issuers = new Map(config.issuers.map((issuerConfig) => [issuerConfig.issuer, new TrustedIssuer(issuerConfig)]));
  const tokenIssuer = typeof token.claims.iss === 'string' ? issuers.get(token.claims.iss) : undefined;
  try {
    const keysLoaded = tokenIssuer ? await tokenIssuer.keys.refresh() : false;
    const checks = await checkToken({ token, tokenBytesLimit: config.limits.tokenBytes, issuers, keysLoaded, nowSeconds: Date.now() / 1000, routeGiven: request !== undefined });
    const validator = new TokenValidator(issuers, new TokenCache(0), new IdentityHeaderMapper(config.claimHeaders), config.limits.tokenBytes);
    const verdict = await validator.validate(token.compact).then(
      () => undefined,
      (error: unknown) => {
        if (error instanceof AuthFailure) return error;
        throw error;
      },
    );
    print(['', `checks against ${file}`, ...formatChecks(checks), '', ...verdictLines(verdict, checks, request !== undefined)]);
    if (request === undefined) return verdict === undefined ? EXIT_ACCEPTED : EXIT_REJECTED;

    // The sidecar's own access decision, with nothing observing it: route, token and scopes exactly as served.
    const gate = new AccessGate(new RouteTable(config), validator, new Answers(config.realm), config.allowQueryToken, undefined, undefined);
    const decision = await gate.decide({ method: request.method, target: request.target, authorization: [`Bearer ${token.compact}`] });
    print(['', `request ${request.method} ${show(request.target)}`, ...formatChecks(requestChecks(request, decision, config, token.claims)), '', ...formatChecks([decisionVerdict(decision)])]);
    return decision.allowed && decision.failure === undefined ? EXIT_ACCEPTED : EXIT_REJECTED;
  } finally {
    for (const issuer of issuers.values()) issuer.keys.stop();
  }
}

function decisionVerdict(decision: GateDecision): Check {
  if (decision.allowed) {
    return decision.failure === undefined
      ? { name: 'decision', status: 'pass', detail: 'allowed: the sidecar forwards this request (proxy) or answers 200 (forward-auth)' }
      : { name: 'decision', status: 'warn', detail: `let through by report-only, logged as ${decision.failure.reason} (${decision.failure.description})` };
  }
  const denial = decision.denial!;
  const { reason, error_description: description } = JSON.parse(denial.body) as { reason?: string; error_description?: string };
  return { name: 'decision', status: 'fail', detail: `refused: the sidecar answers HTTP ${denial.status} ${reason ?? ''} (${description ?? ''})` };
}

function verdictLines(failure: AuthFailure | undefined, checks: readonly Check[], routeGiven: boolean): string[] {
  const verdict: Check =
    failure === undefined
      ? { name: 'verdict', status: 'pass', detail: `accepted by the validator (${routeGiven ? 'the route and its scopes follow' : 'a route may still require scopes: give --method and --path'})` }
      : {
          name: 'verdict',
          status: 'fail',
          detail: `rejected by the validator: ${failure.reason} (${failure.description}); the sidecar answers HTTP ${failure.status}${failure.bearerError ? ` ${failure.bearerError}` : ''}`,
        };
  const lines = formatChecks([verdict]);
  // The checks above restate the validator's logic for explanation; if they ever disagree, the validator is right.
  if ((failure === undefined) === hasFailure(checks)) {
    lines.push(`  note: the checks above disagree with the validator; the verdict is what the sidecar does`);
  }
  return lines;
}
