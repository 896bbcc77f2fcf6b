import type { JWTPayload } from 'jose';
import type { VerificationKey } from './jwks.js';

/** A token whose signature and claims passed; what the cache holds and what routes and headers are decided from. */
export interface VerifiedToken {
  readonly issuer: string;
  readonly claims: Readonly<JWTPayload>;
  readonly scopes: ReadonlySet<string>;
  readonly key: VerificationKey;
  readonly exp: number;
  readonly nbf: number | undefined;
  readonly iat: number | undefined;
  readonly clientId: string | undefined;
  /** Grant type when the token says (Auth0's `gty`, or `grant_type`). */
  readonly grantType: string | undefined;
  /** Identity headers for the app, computed once at verification: [lower-case name, value]. */
  readonly identityHeaders: ReadonlyArray<readonly [string, string]>;
}
