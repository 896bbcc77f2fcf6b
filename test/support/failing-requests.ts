import type { FailureReason } from '../../src/auth/reasons.js';
import type { JwksServer } from './jwks-server.js';
import { bearer } from './sidecar.js';
import { compact, createSigningKey, epoch, signWith, unsigned, withClaims, type Claims } from './tokens.js';

/**
 * One request per failure reason, with the issuer label each should carry: tokens of `idp` (audience orders-api,
 * scope read:orders needed), and of `downIssuer`, an issuer whose keys never load.
 */
export async function requestPerFailureReason(idp: JwksServer, downIssuer: string): Promise<Array<[FailureReason, RequestInit, string]>> {
  const issuer = idp.issuer;
  const claims = (extra: Claims = {}) => ({ aud: 'orders-api', sub: 'u', scope: 'read:orders write:orders', ...extra });
  const rogue = await createSigningKey('RS256', 'rogue');
  const good = await idp.sign(claims());
  return [
    ['missing_token', {}, 'unknown'],
    ['malformed', bearer('not-a-jwt'), 'unknown'],
    ['disallowed_algorithm', bearer(unsigned({ ...claims(), iss: issuer, exp: epoch(60) })), issuer],
    ['unknown_key', bearer(await signWith(rogue.privateKey, { alg: 'RS256', kid: 'rogue' }, { ...claims(), iss: issuer, exp: epoch(60) })), issuer],
    ['invalid_signature', bearer(withClaims(good, { sub: 'admin' })), issuer],
    ['expired', bearer(await idp.sign(claims({ iat: epoch(-600), exp: epoch(-300) }))), issuer],
    ['not_yet_valid', bearer(await idp.sign(claims({ nbf: epoch(600) }))), issuer],
    ['invalid_issuer', bearer(await idp.sign(claims({ iss: 'https://elsewhere.example.com' }))), 'unknown'],
    ['invalid_audience', bearer(await idp.sign(claims({ aud: 'billing' }))), issuer],
    ['invalid_claims', bearer(await idp.sign(claims({ exp: undefined }))), issuer],
    ['insufficient_scope', bearer(await idp.sign(claims({ scope: 'read:reports' }))), issuer],
    ['jwks_unavailable', bearer(compact({ alg: 'RS256', kid: 'k' }, { ...claims(), iss: downIssuer, exp: epoch(60) }, 'c2ln')), downIssuer],
  ];
}
