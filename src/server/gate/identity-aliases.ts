import type { DataPlaneMode } from '../http/request-observer.js';

/** Every header with this prefix is tokenwatch's to set, whether or not `claimHeaders` maps a claim to it. */
export const IDENTITY_PREFIX = 'x-auth-';


/** At most this many offending names are reported per request, each cut to MAX_REPORTED_NAME characters. */
const MAX_REPORTED_NAMES = 8;
const MAX_REPORTED_NAME = 64;
const MAX_REPORTED_PATH = 256;

const DASH = 0x2d;
const LOWER_X = 0x78;
const UPPER_X = 0x58;

/** One request that carried a client-sent alias of an identity header. Names only: a value is never reported. */
export interface IdentitySpoof {
  readonly mode: DataPlaneMode;
  readonly method: string;
  /** The request path without its query (a query may carry a token), cut to a bounded length. */
  readonly path: string;
  /** The offending header names as the client spelt them, bounded in number and length. */
  readonly headers: readonly string[];
}

/** Told of every request that carried an alias of an identity header: metrics and the audit log. */
export interface IdentitySpoofObserver {
  identityHeaderSpoofed(spoof: IdentitySpoof): void;
}

/**
 * Recognises aliases of identity headers: names that are not an identity header in any letter case, yet that CGI,
 * WSGI, Rack, PHP, Apache and NGINX (with `underscores_in_headers on`) turn into the same variable, since they
 * upper-case a name and map every character that is neither a letter nor a digit to `_`. `X_Auth_Subject`,
 * `x.auth-subject` and `X-AUTH_SUBJECT` all become HTTP_X_AUTH_SUBJECT, so the app would take the client's value
 * for the verified identity. The fold used here is the same: lower-case, and every other character to `-`.
 *
 * The fold keeps a name's length, so a header is compared only with identity names of its own length, character by
 * character, without building a folded copy; the `x-auth-` prefix is tried only for names beginning with an `x`.
 * A request without an alias costs one comparison per header and allocates nothing.
 */
export class IdentityHeaderAliases {
  /** Folded identity header names, indexed by length. */
  private readonly byLength: Array<readonly string[] | undefined> = [];
  /** The identity header names themselves, lower-case. */
  private readonly names: ReadonlySet<string>;

  constructor(identityHeaderNames: readonly string[]) {
    this.names = new Set(identityHeaderNames.map((name) => name.toLowerCase()));
    for (const name of identityHeaderNames) {
      const folded = fold(name);
      if (folded.startsWith(IDENTITY_PREFIX)) continue;
      this.byLength[folded.length] = [...(this.byLength[folded.length] ?? []), folded];
    }
  }

  /**
   * Whether `name` folds onto an identity header name or the `x-auth-` prefix without being one of them in some
   * letter case: those exact spellings are stripped (proxy mode) or overwritten (forward-auth) as they always were.
   */
  isAlias(name: string): boolean {
    if (!this.foldsOntoIdentity(name)) return false;
    const lower = name.toLowerCase();
    return !lower.startsWith(IDENTITY_PREFIX) && !this.names.has(lower);
  }

  /** The aliases among a raw [name, value, ...] header list, or undefined when there are none (the common case). */
  find(rawHeaders: readonly string[]): string[] | undefined {
    let found: string[] | undefined;
    for (let index = 0; index < rawHeaders.length; index += 2) {
      const name = rawHeaders[index]!;
      if (this.isAlias(name)) (found ??= []).push(name);
    }
    return found;
  }

  private foldsOntoIdentity(name: string): boolean {
    const first = name.charCodeAt(0);
    if ((first === LOWER_X || first === UPPER_X) && name.length >= IDENTITY_PREFIX.length && foldsOnto(name, IDENTITY_PREFIX)) return true;
    const candidates = this.byLength[name.length];
    if (candidates === undefined) return false;
    for (const candidate of candidates) if (foldsOnto(name, candidate)) return true;
    return false;
  }
}

/** The report of one spoofing request, bounded whatever the client sent. */
export function identitySpoof(mode: DataPlaneMode, method: string, target: string, names: readonly string[]): IdentitySpoof {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  return {
    mode,
    method,
    path: path.slice(0, MAX_REPORTED_PATH),
    headers: names.slice(0, MAX_REPORTED_NAMES).map((name) => name.slice(0, MAX_REPORTED_NAME)),
  };
}

/** Fans a spoofing report out to every observer. */
export function fanOutSpoof(observers: readonly IdentitySpoofObserver[]): IdentitySpoofObserver {
  return {
    identityHeaderSpoofed(spoof: IdentitySpoof) {
      for (const observer of observers) observer.identityHeaderSpoofed(spoof);
    },
  };
}

function fold(name: string): string {
  let folded = '';
  for (let index = 0; index < name.length; index++) folded += String.fromCharCode(foldCode(name.charCodeAt(index)));
  return folded;
}

/** Whether the first `target.length` characters of `name` fold onto `target` (already folded). */
function foldsOnto(name: string, target: string): boolean {
  for (let index = 0; index < target.length; index++) if (foldCode(name.charCodeAt(index)) !== target.charCodeAt(index)) return false;
  return true;
}

function foldCode(code: number): number {
  if (code >= 0x41 && code <= 0x5a) return code + 0x20;
  if ((code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39)) return code;
  return DASH;
}
