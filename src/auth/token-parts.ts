import { AuthFailure } from './errors.js';

/** Longest encoded header remembered; real ones (alg, kid, typ) are well under 200 characters. */
const MAX_CACHED_HEADER_LENGTH = 512;

/**
 * The few distinct JOSE headers an issuer's tokens carry, decoded once each: a cache miss then decodes and parses
 * only the payload. Bounded: once full, or for an overlong header, a header is decoded every time, so hostile tokens
 * with endless distinct headers cost what they always did and hold no memory. Entries are frozen, being shared.
 */
export class HeaderCache {
  private readonly decoded = new Map<string, Readonly<Record<string, unknown>>>();

  constructor(private readonly capacity: number) {}

  /** The header as a JSON object; throws AuthFailure `malformed` as decoding any token part does. */
  decode(encoded: string): Readonly<Record<string, unknown>> {
    let header = this.decoded.get(encoded);
    if (header === undefined) {
      header = Object.freeze(decodeJsonObject(encoded, 'header'));
      if (encoded.length <= MAX_CACHED_HEADER_LENGTH && this.decoded.size < this.capacity) this.decoded.set(encoded, header);
    }
    return header;
  }

  get size(): number {
    return this.decoded.size;
  }
}

/** A base64url token part that must hold a JSON object (the header, the payload). */
export function decodeJsonObject(encoded: string, part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw new AuthFailure('malformed', `token ${part} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuthFailure('malformed', `token ${part} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
