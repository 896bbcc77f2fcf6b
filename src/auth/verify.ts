import type { JWTPayload } from 'jose';
import { AuthFailure, type FailureContext } from './errors.js';
import type { IdentityHeaderMapper } from './identity-headers.js';
import { scopesOf } from './identity-headers.js';
import { TokenCache, type CacheOutcome } from './token-cache.js';
import { normalizeTyp, type TrustedIssuer } from './trusted-issuer.js';
import { HeaderCache, decodeJsonObject } from './token-parts.js';
import type { VerificationKey } from './jwks.js';
import type { VerifiedToken } from './verified-token.js';


export interface Validation {
  token: VerifiedToken;
  cache: CacheOutcome;
}

/** What is known of a token that failed, for telemetry; never the token itself. */

const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** Distinct JOSE headers remembered decoded: an issuer uses a few (one per key and algorithm). */
const HEADER_CACHE_ENTRIES = 64;

/**
 * Verifies compact JWS access tokens against the configured issuers. Every check is explicit and maps to one
 * reason; keys come only from the issuer's JWKS (embedded jwk, jku, x5u and x5c headers are never looked at).
 */
export class TokenValidator {
  constructor(
    private readonly issuers: ReadonlyMap<string, TrustedIssuer>,
    private readonly cache: TokenCache,
    private readonly identity: IdentityHeaderMapper,
    private readonly maxTokenBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  private readonly headers = new HeaderCache(HEADER_CACHE_ENTRIES);

  /** Resolves with the verified token, or rejects with an AuthFailure whose `context` says what was known. */
  async validate(token: string): Promise<Validation> {
    return this.validateNow(token);
  }

  /**
   * Like validate, but a cache hit returns synchronously, so a hot token costs no promise; a failure may be thrown
   * rather than rejected. The token is hashed once, and not at all when the cache is off.
   */
  validateNow(token: string): Validation | Promise<Validation> {
    if (token.length > this.maxTokenBytes) {
      throw withContext(new AuthFailure('malformed', `token is larger than ${this.maxTokenBytes} bytes`), { cache: 'miss' });
    }
    const cacheKey = this.cache.enabled ? TokenCache.keyOf(token) : undefined;
    return (cacheKey !== undefined && this.fromCache(cacheKey)) || this.verifyAndCache(token, cacheKey);
  }

  /** A cached token, checked as every hit is (its key still published, keys usable, times); undefined on a miss. */
  private fromCache(cacheKey: string): Validation | undefined {
    const cached = this.cache.get(cacheKey);
    if (!cached) return undefined;
    // A reload may have dropped the issuer, or replaced its key store: such an entry is a miss.
    const issuer = this.issuers.get(cached.issuer);
    if (!issuer?.keys.isCurrent(cached.key)) {
      this.cache.delete(cacheKey);
      return undefined;
    }
    const context: FailureContext = { issuer: cached.issuer, kid: cached.key.kid, cache: 'hit' };
    if (!issuer.keys.usable()) throw withContext(jwksUnavailable(), context);
    checkTimes(cached, this.now() / 1000, issuer.clockToleranceSeconds, context);
    return { token: cached, cache: 'hit' };
  }

  /**
   * Verifies a token the cache did not have. Synchronous when its key is in the JWKS (every miss but the first of a
   * rotated-in key): only an unknown kid waits, for the refetch.
   */
  private verifyAndCache(token: string, cacheKey: string | undefined): Validation | Promise<Validation> {
    const context: FailureContext = { cache: 'miss' };
    let verified: VerifiedToken | Promise<VerifiedToken>;
    try {
      verified = this.verifyUncached(token, context);
    } catch (error) {
      throw addContext(error, context);
    }
    if (verified instanceof Promise) {
      return verified.then(
        (settled) => this.cached(settled, cacheKey),
        (error: unknown) => {
          throw addContext(error, context);
        },
      );
    }
    return this.cached(verified, cacheKey);
  }

  private cached(verified: VerifiedToken, cacheKey: string | undefined): Validation {
    if (cacheKey !== undefined) this.cache.set(cacheKey, verified, this.now());
    return { token: verified, cache: 'miss' };
  }

  private verifyUncached(token: string, context: FailureContext): VerifiedToken | Promise<VerifiedToken> {
    const parts = token.split('.');
    if (parts.length === 5) throw new AuthFailure('malformed', 'encrypted tokens (JWE) are not accepted');
    if (parts.length !== 3) throw new AuthFailure('malformed', 'token is not a compact JWS (three base64url parts)');
    const [encodedHeader, encodedPayload, signature] = parts as [string, string, string];
    if (!BASE64URL.test(encodedHeader) || !BASE64URL.test(encodedPayload) || !BASE64URL.test(signature)) {
      throw new AuthFailure('malformed', 'token parts are not base64url');
    }
    const header = this.headers.decode(encodedHeader);
    const claims = decodeJsonObject(encodedPayload, 'payload') as JWTPayload;

    if (typeof header.alg !== 'string') throw new AuthFailure('malformed', 'header has no alg');
    if (header.crit !== undefined) throw new AuthFailure('malformed', 'critical header parameters are not supported');
    if (header.b64 !== undefined) throw new AuthFailure('malformed', 'unencoded payloads (b64) are not accepted');
    if (header.kid !== undefined && typeof header.kid !== 'string') throw new AuthFailure('malformed', 'header kid is not a string');
    const kid = header.kid as string | undefined;
    context.kid = kid;

    const issuer = typeof claims.iss === 'string' ? this.issuers.get(claims.iss) : undefined;
    if (!issuer) throw new AuthFailure('invalid_issuer', 'token issuer is not trusted here');
    context.issuer = issuer.issuer;

    const alg = header.alg;
    if (!issuer.algorithms.has(alg)) throw new AuthFailure('disallowed_algorithm', 'token algorithm is not allowed');
    if (issuer.requiredTyp !== undefined && (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== issuer.requiredTyp)) {
      throw new AuthFailure('invalid_claims', `token typ must be ${issuer.requiredTyp}`);
    }
    if (!issuer.keys.usable()) throw jwksUnavailable();

    const key = issuer.keys.find(kid, alg);
    const signed: SignedParts = { token, signingInputLength: encodedHeader.length + 1 + encodedPayload.length, signature, claims, issuer, context };
    if (!key && kid !== undefined && !issuer.keys.hasKid(kid)) {
      return issuer.keys.refetchForUnknownKid().then((refetched) => {
        if (refetched && !issuer.keys.usable()) throw jwksUnavailable();
        return this.checkSigned(signed, refetched ? issuer.keys.find(kid, alg) : undefined);
      });
    }
    return this.checkSigned(signed, key);
  }

  /** Signature, then the claims: what a token must pass once its key is known (or known to be missing). */
  private checkSigned(signed: SignedParts, key: VerificationKey | undefined): VerifiedToken {
    const { token, signingInputLength, signature, claims, issuer, context } = signed;
    if (!key) {
      throw new AuthFailure('unknown_key', context.kid === undefined ? 'token names no kid and no single key fits' : 'no key in the issuer JWKS matches the token kid and alg');
    }
    if (!key.verifier.verify(token.slice(0, signingInputLength), Buffer.from(signature, 'base64url'))) {
      throw new AuthFailure('invalid_signature', 'signature verification failed');
    }

    const times = checkClaims(claims, issuer, this.now() / 1000);
    const scopes = scopesOf(claims);
    const verified: VerifiedToken = {
      issuer: issuer.issuer,
      claims: Object.freeze(claims),
      scopes,
      key,
      ...times,
      clientId: stringClaim(claims.client_id) ?? stringClaim(claims.azp),
      grantType: stringClaim(claims.gty) ?? stringClaim(claims.grant_type),
      identityHeaders: this.identity.headersFor(claims, scopes),
    };
    checkTimes(verified, this.now() / 1000, issuer.clockToleranceSeconds, context);
    return verified;
  }
}

/** A token's parts between parsing and the signature check. */
interface SignedParts {
  readonly token: string;
  readonly signingInputLength: number;
  readonly signature: string;
  readonly claims: JWTPayload;
  readonly issuer: TrustedIssuer;
  readonly context: FailureContext;
}

/** Checks that do not change over a token's life; run once, before the token enters the cache. */
function checkClaims(claims: JWTPayload, issuer: TrustedIssuer, nowSeconds: number): Pick<VerifiedToken, 'exp' | 'nbf' | 'iat'> {
  if (!audienceAccepted(claims.aud, issuer.audiences)) throw new AuthFailure('invalid_audience', 'token audience is not accepted here');
  const { exp, nbf, iat } = claims;
  if (exp === undefined) throw new AuthFailure('invalid_claims', 'token has no exp');
  if (!isNumericDate(exp)) throw new AuthFailure('invalid_claims', 'exp is not a NumericDate');
  if (nbf !== undefined && !isNumericDate(nbf)) throw new AuthFailure('invalid_claims', 'nbf is not a NumericDate');
  if (iat !== undefined && !isNumericDate(iat)) throw new AuthFailure('invalid_claims', 'iat is not a NumericDate');
  // exp further than maxTokenLifetime from iat, or from now, is refused: `exp: 1e20` never passes.
  if ((iat !== undefined && exp - iat > issuer.maxLifetimeSeconds) || exp - nowSeconds > issuer.maxLifetimeSeconds + issuer.clockToleranceSeconds) {
    throw new AuthFailure('invalid_claims', 'token lifetime exceeds the allowed maximum');
  }
  for (const claim of issuer.requiredClaims) {
    if (claims[claim] === undefined || claims[claim] === null) throw new AuthFailure('invalid_claims', `token has no ${claim} claim`);
  }
  return { exp, nbf, iat };
}

/** Time checks run on every request, cached or not. */
function checkTimes(token: Pick<VerifiedToken, 'exp' | 'nbf' | 'iat'>, nowSeconds: number, tolerance: number, context: FailureContext): void {
  if (nowSeconds - tolerance >= token.exp) throw withContext(new AuthFailure('expired', 'token has expired'), context);
  if (token.nbf !== undefined && nowSeconds + tolerance < token.nbf) {
    throw withContext(new AuthFailure('not_yet_valid', 'token is not valid yet (nbf)'), context);
  }
  if (token.iat !== undefined && nowSeconds + tolerance < token.iat) {
    throw withContext(new AuthFailure('not_yet_valid', 'token is issued in the future (iat)'), context);
  }
}

function audienceAccepted(aud: unknown, accepted: ReadonlySet<string>): boolean {
  if (typeof aud === 'string') return accepted.has(aud);
  if (Array.isArray(aud)) return aud.some((value) => typeof value === 'string' && accepted.has(value));
  return false;
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function jwksUnavailable(): AuthFailure {
  return new AuthFailure('jwks_unavailable', 'signing keys of the issuer are unavailable');
}

/** An AuthFailure gets what was known of the token; anything else is a bug and passes through as it is. */
function addContext(error: unknown, context: FailureContext): unknown {
  return error instanceof AuthFailure ? withContext(error, context) : error;
}

function withContext(failure: AuthFailure, context: FailureContext): AuthFailure {
  failure.context = context;
  return failure;
}
