import type { JWTPayload } from 'jose';
import { isSupportedAlgorithm } from '../config/algorithms.js';
import { scopesOf } from '../auth/identity-headers.js';
import type { VerificationKey } from '../auth/jwks.js';
import { normalizeTyp, type TrustedIssuer } from '../auth/trusted-issuer.js';
import { formatSpan, plural, show, type Check } from './format.js';
import type { DecodedToken } from './decode-token.js';
import { relative } from './token-times.js';

export interface TokenCheckInput {
  token: DecodedToken;
  tokenBytesLimit: number;
  /** Every configured issuer, by issuer string. */
  issuers: ReadonlyMap<string, TrustedIssuer>;
  /** Whether the JWKS of the token's issuer loaded (its key store was refreshed before). */
  keysLoaded: boolean;
  nowSeconds: number;
  /** Whether a request path was given: its route's scopes are then checked with the route, not here. */
  routeGiven: boolean;
}

/**
 * Each check the validator makes, one line each and all of them: the validator stops at the first failure, an
 * operator wants to see every one. A check that needs what a failed one would have given (a trusted issuer, a key)
 * is skipped and says so. The verdict stays the validator's own; these lines explain it.
 */
export async function checkToken(input: TokenCheckInput): Promise<Check[]> {
  const { token, nowSeconds } = input;
  const { header, claims } = token;
  const issuer = typeof claims.iss === 'string' ? input.issuers.get(claims.iss) : undefined;
  const alg = typeof header.alg === 'string' ? header.alg : undefined;
  const checks: Check[] = [sizeCheck(token, input.tokenBytesLimit), structureCheck(header), issuerCheck(claims.iss, input.issuers)];
  checks.push(algorithmCheck(alg, issuer), typCheck(header.typ, issuer));
  const { check: keyLine, key } = keyCheck(header.kid, alg, issuer, input.keysLoaded);
  checks.push(keyLine, signatureCheck(token.compact, key));
  checks.push(audienceCheck(claims.aud, issuer));
  const tolerance = issuer?.clockToleranceSeconds ?? 0;
  checks.push(expCheck(claims.exp, nowSeconds, tolerance, issuer !== undefined));
  checks.push(notBeforeCheck('nbf', claims.nbf, nowSeconds, tolerance), notBeforeCheck('iat', claims.iat, nowSeconds, tolerance));
  checks.push(lifetimeCheck(claims, nowSeconds, issuer), requiredClaimsCheck(claims, issuer));
  if (!input.routeGiven) {
    const scopes = [...scopesOf(claims as JWTPayload)];
    checks.push({
      name: 'scopes',
      status: 'skip',
      detail: `token scopes: ${scopes.map(show).join(' ') || '(none)'}; a route's are checked with --method and --path`,
    });
  }
  return checks;
}

const NEEDS_ISSUER = 'not checked: needs a trusted issuer';

function sizeCheck(token: DecodedToken, limit: number): Check {
  const size = token.compact.length;
  return size <= limit
    ? { name: 'size', status: 'pass', detail: `${size} bytes (limit ${limit})` }
    : { name: 'size', status: 'fail', detail: `${size} bytes, more than limits.tokenBytes ${limit}` };
}

function structureCheck(header: Readonly<Record<string, unknown>>): Check {
  const problems: string[] = [];
  if (typeof header.alg !== 'string') problems.push('header has no alg');
  if (header.crit !== undefined) problems.push('header has crit (critical parameters are not supported)');
  if (header.kid !== undefined && typeof header.kid !== 'string') problems.push('header kid is not a string');
  if (problems.length > 0) return { name: 'structure', status: 'fail', detail: problems.join('; ') };
  return { name: 'structure', status: 'pass', detail: `compact JWS, alg ${show(header.alg)}${header.kid === undefined ? ', no kid' : `, kid ${show(header.kid)}`}` };
}

function issuerCheck(iss: unknown, issuers: ReadonlyMap<string, TrustedIssuer>): Check {
  if (typeof iss === 'string' && issuers.has(iss)) return { name: 'issuer', status: 'pass', detail: `${show(iss)} is a configured issuer` };
  const configured = [...issuers.keys()];
  const loose = (text: string) => text.replace(/\/+$/, '').toLowerCase();
  const nearMiss = typeof iss === 'string' ? configured.find((candidate) => loose(candidate) === loose(iss)) : undefined;
  const got = iss === undefined ? 'the token has no iss claim' : `${show(iss)} is not a configured issuer`;
  const hint = nearMiss === undefined ? `configured: ${configured.join(', ')}` : `configured ${nearMiss} differs only in case or a trailing slash, and must match exactly`;
  return { name: 'issuer', status: 'fail', detail: `${got} (${hint})` };
}

function algorithmCheck(alg: string | undefined, issuer: TrustedIssuer | undefined): Check {
  if (alg === undefined) return { name: 'algorithm', status: 'fail', detail: 'the header names no alg' };
  if (!isSupportedAlgorithm(alg)) return { name: 'algorithm', status: 'fail', detail: `${show(alg)} is never accepted (HMAC, none and unknown algorithms are refused)` };
  if (!issuer) return { name: 'algorithm', status: 'skip', detail: NEEDS_ISSUER };
  const allowed = [...issuer.algorithms].join(', ');
  return issuer.algorithms.has(alg)
    ? { name: 'algorithm', status: 'pass', detail: `${alg} is allowed (${allowed})` }
    : { name: 'algorithm', status: 'fail', detail: `${alg} is not among the issuer's algorithms: ${allowed}` };
}

function typCheck(typ: unknown, issuer: TrustedIssuer | undefined): Check {
  if (!issuer) return { name: 'typ', status: 'skip', detail: NEEDS_ISSUER };
  if (issuer.requiredTyp === undefined) return { name: 'typ', status: 'skip', detail: `not required (requireTyp is not set); ${typ === undefined ? 'the token has no typ' : `token typ ${show(typ)}`}` };
  return typeof typ === 'string' && normalizeTyp(typ) === issuer.requiredTyp
    ? { name: 'typ', status: 'pass', detail: `${show(typ)} is the required ${issuer.requiredTyp}` }
    : { name: 'typ', status: 'fail', detail: `${show(typ)}, but requireTyp is ${issuer.requiredTyp}` };
}

function keyCheck(
  kid: unknown,
  alg: string | undefined,
  issuer: TrustedIssuer | undefined,
  keysLoaded: boolean,
): { check: Check; key?: VerificationKey } {
  if (!issuer) return { check: { name: 'key', status: 'skip', detail: NEEDS_ISSUER } };
  if (!keysLoaded) {
    return { check: { name: 'key', status: 'fail', detail: `the issuer's JWKS is unavailable: ${issuer.keys.status().lastError ?? 'unknown error'}` } };
  }
  if (alg === undefined || !issuer.algorithms.has(alg)) {
    return { check: { name: 'key', status: 'skip', detail: 'not looked up: the algorithm is not allowed' } };
  }
  if (kid !== undefined && typeof kid !== 'string') return { check: { name: 'key', status: 'fail', detail: 'the header kid is not a string' } };
  const key = issuer.keys.find(kid, alg);
  const published = plural(issuer.keys.status().keys, 'usable key');
  if (key) {
    const which = kid === undefined ? `the one ${alg} key (the token names no kid)` : `kid ${show(kid)} with ${alg}`;
    return { check: { name: 'key', status: 'pass', detail: `found: ${which}` }, key };
  }
  if (kid === undefined) return { check: { name: 'key', status: 'fail', detail: `the token names no kid and no single ${alg} key fits (${published})` } };
  const detail = issuer.keys.hasKid(kid)
    ? `kid ${show(kid)} is in the JWKS, but not for ${alg}`
    : `kid ${show(kid)} is not in the JWKS at all (${published}): signed by another IdP or a key rotated away`;
  return { check: { name: 'key', status: 'fail', detail } };
}

function signatureCheck(compact: string, key: VerificationKey | undefined): Check {
  if (!key) return { name: 'signature', status: 'skip', detail: 'not checked: no key to verify with' };
  const lastDot = compact.lastIndexOf('.');
  if (key.verifier.verify(compact.slice(0, lastDot), Buffer.from(compact.slice(lastDot + 1), 'base64url'))) {
    return { name: 'signature', status: 'pass', detail: `valid (${key.alg}${key.kid === undefined ? '' : `, kid ${show(key.kid)}`})` };
  }
  return { name: 'signature', status: 'fail', detail: 'does not verify: the token was altered or signed by another key' };
}

function audienceCheck(aud: unknown, issuer: TrustedIssuer | undefined): Check {
  if (!issuer) return { name: 'audience', status: 'skip', detail: NEEDS_ISSUER };
  const accepted = [...issuer.audiences].join(', ');
  const values = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  const match = values.find((value) => typeof value === 'string' && issuer.audiences.has(value));
  if (match !== undefined) return { name: 'audience', status: 'pass', detail: `${show(match)} is accepted` };
  const got = aud === undefined ? 'the token has no aud claim' : `${show(aud)} is not accepted`;
  return { name: 'audience', status: 'fail', detail: `${got} (accepted: ${accepted})` };
}

function numericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function expCheck(exp: unknown, now: number, tolerance: number, issuerKnown: boolean): Check {
  if (exp === undefined) return { name: 'exp', status: 'fail', detail: 'the token has no exp claim (one is required)' };
  if (!numericDate(exp)) return { name: 'exp', status: 'fail', detail: `not a NumericDate: ${JSON.stringify(exp)}` };
  const allowance = issuerKnown ? `clock tolerance ${formatSpan(tolerance)}` : 'no trusted issuer, so no clock tolerance';
  if (now - tolerance >= exp) return { name: 'exp', status: 'fail', detail: `expired ${relative(exp, now)} (${allowance})` };
  if (now >= exp) return { name: 'exp', status: 'warn', detail: `expired ${relative(exp, now)}, still inside the ${allowance}` };
  return { name: 'exp', status: 'pass', detail: `expires ${relative(exp, now)}` };
}

/** nbf and iat: the token must not start (nbf) or have been issued (iat) after now plus the tolerance. */
function notBeforeCheck(claim: 'nbf' | 'iat', value: unknown, now: number, tolerance: number): Check {
  if (value === undefined) return { name: claim, status: 'pass', detail: 'not present' };
  if (!numericDate(value)) return { name: claim, status: 'fail', detail: `not a NumericDate: ${JSON.stringify(value)}` };
  const what = claim === 'nbf' ? 'valid from' : 'issued';
  if (now + tolerance < value) return { name: claim, status: 'fail', detail: `${what} ${relative(value, now)}: in the future, beyond the clock tolerance` };
  return { name: claim, status: 'pass', detail: `${what} ${relative(value, now)}` };
}

function lifetimeCheck(claims: Readonly<Record<string, unknown>>, now: number, issuer: TrustedIssuer | undefined): Check {
  if (!issuer) return { name: 'lifetime', status: 'skip', detail: NEEDS_ISSUER };
  const { exp, iat } = claims;
  if (!numericDate(exp)) return { name: 'lifetime', status: 'skip', detail: 'not checked: no usable exp' };
  const max = `maxTokenLifetime ${formatSpan(issuer.maxLifetimeSeconds)}`;
  if (numericDate(iat) && exp - iat > issuer.maxLifetimeSeconds) {
    return { name: 'lifetime', status: 'fail', detail: `exp - iat is ${formatSpan(exp - iat)}, more than ${max}` };
  }
  if (exp - now > issuer.maxLifetimeSeconds + issuer.clockToleranceSeconds) {
    return { name: 'lifetime', status: 'fail', detail: `expires ${relative(exp, now)}, further away than ${max}` };
  }
  const lifetime = numericDate(iat) ? `${formatSpan(exp - iat)} from iat to exp` : `no iat; expires ${relative(exp, now)}`;
  return { name: 'lifetime', status: 'pass', detail: `${lifetime} (${max})` };
}

function requiredClaimsCheck(claims: Readonly<Record<string, unknown>>, issuer: TrustedIssuer | undefined): Check {
  if (!issuer) return { name: 'claims', status: 'skip', detail: NEEDS_ISSUER };
  if (issuer.requiredClaims.length === 0) return { name: 'claims', status: 'skip', detail: 'no requiredClaims configured' };
  const missing = issuer.requiredClaims.filter((claim) => claims[claim] === undefined || claims[claim] === null);
  return missing.length === 0
    ? { name: 'claims', status: 'pass', detail: `has every required claim: ${issuer.requiredClaims.join(', ')}` }
    : { name: 'claims', status: 'fail', detail: `missing required claim(s): ${missing.join(', ')}` };
}
