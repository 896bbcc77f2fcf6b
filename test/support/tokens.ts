import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto';
import { recordIssuedToken } from './secret-audit.js';
import { CompactSign, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/**
 * Hand-made tokens for hostile cases. Well-formed tokens come from the embedded IdP or JwksServer.sign; these build
 * what a real IdP never would: alg none, tampered payloads, HMAC signed with a public key, garbage.
 */

export type Claims = Record<string, unknown>;
export type Header = Record<string, unknown>;

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  /** What a JWKS publishes for this key: kid, alg and use included. */
  publicJwk: JWK;
}

/** A fresh key pair; the kid defaults to the RFC 7638 thumbprint, so every key has its own. */
export async function createSigningKey(alg = 'RS256', kid?: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const keyId = kid ?? (await calculateJwkThumbprint(jwk));
  return { kid: keyId, alg, privateKey, publicJwk: { ...jwk, kid: keyId, alg, use: 'sig' } };
}

/** base64url of a JSON value, or of a string's UTF-8 bytes, or of raw bytes. */
export function b64url(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64url');
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** header.payload.signature from parts given as-is: objects are JSON-encoded, strings taken as already encoded. */
export function compact(header: Header | string, payload: Claims | string, signature = ''): string {
  const encode = (part: Header | string): string => (typeof part === 'string' ? part : b64url(part));
  return audited(`${encode(header)}.${encode(payload)}.${signature}`);
}

/** Signs exactly this header (it must carry `alg`) and payload: no claims are added. */
export function signWith(key: CryptoKey | Uint8Array, header: Header & { alg: string }, payload: Claims): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header).sign(key).then(audited);
}

/** An unsecured JWT (alg none, empty signature). */
export function unsigned(payload: Claims, header: Header = {}): string {
  return compact({ alg: 'none', typ: 'JWT', ...header }, payload);
}

/** The token with its payload claims changed (undefined deletes one) and the original signature kept. */
export function withClaims(token: string, changes: Claims): string {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const claims = { ...(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Claims), ...changes };
  return compact(header, claims, signature);
}

/** The token with its header changed (undefined deletes a member) and the original signature kept. */
export function withHeader(token: string, changes: Header): string {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const fields = { ...(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Header), ...changes };
  return compact(fields, payload, signature);
}

/**
 * The algorithm-confusion attack: HS256 keyed with the RSA/EC public key's PEM, which a verifier that lets the
 * token pick its algorithm would accept as a valid HMAC.
 */
export function hmacWithPublicKey(publicJwk: JWK, payload: Claims, header: Header = {}): string {
  const pem = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT', kid: publicJwk.kid, ...header })}.${b64url(payload)}`;
  return audited(`${signingInput}.${createHmac('sha256', pem).update(signingInput).digest('base64url')}`);
}

/** Every hostile token is recorded too: tokenwatch must not log an invalid token any more than a valid one. */
function audited(token: string): string {
  recordIssuedToken(token);
  return token;
}

/** Seconds since the epoch, the unit of exp/iat/nbf. */
export function epoch(offsetSeconds = 0): number {
  return Math.floor(Date.now() / 1000) + offsetSeconds;
}
