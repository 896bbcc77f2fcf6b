import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { VerifiedToken } from './verified-token.js';

/** Whether a validation found its token in the cache or verified its signature. */
export type CacheOutcome = 'hit' | 'miss';

/**
 * Verified tokens by SHA-256 of the compact token, so hot tokens skip the signature check.
 * An entry lives until the token's `exp` and never longer; time claims, the key's presence in the JWKS and
 * route scopes are still checked on every hit by the caller.
 */
export class TokenCache {
  private readonly entries: LRUCache<string, VerifiedToken> | undefined;

  constructor(maxEntries: number) {
    this.entries = maxEntries > 0 ? new LRUCache<string, VerifiedToken>({ max: maxEntries, ttlAutopurge: false }) : undefined;
  }

  /** False with `maxEntries: 0`: then nothing is hashed, stored or looked up. */
  get enabled(): boolean {
    return this.entries !== undefined;
  }

  static keyOf(token: string): string {
    return hash('sha256', token, 'base64');
  }

  get(key: string): VerifiedToken | undefined {
    return this.entries?.get(key);
  }

  set(key: string, token: VerifiedToken, nowMs: number): void {
    const ttl = token.exp * 1000 - nowMs;
    if (this.entries && ttl > 0) this.entries.set(key, token, { ttl });
  }

  delete(key: string): void {
    this.entries?.delete(key);
  }

  /** Drops every entry verified by one of these issuers (their configuration changed: audiences, claims...). */
  evictIssuers(issuers: ReadonlySet<string>): void {
    if (!this.entries || issuers.size === 0) return;
    const evicted = [...this.entries.entries()].filter(([, token]) => issuers.has(token.issuer));
    for (const [key] of evicted) this.entries.delete(key);
  }

  clear(): void {
    this.entries?.clear();
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}
