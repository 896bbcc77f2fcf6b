import { TokenwatchError } from '../errors.js';
/** A request path that cannot be matched safely; answered 400 invalid_request. */
export class PathRejected extends TokenwatchError {
  override readonly name = 'PathRejected';
  readonly code = 'ERR_PATH_REJECTED';
}

export interface RequestTarget {
  /** Normalised path: what routes match and what the upstream receives. */
  path: string;
  /** Raw query without `?`, or undefined. */
  query: string | undefined;
}

const HEX = /^[0-9A-Fa-f]{2}$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Splits an origin-form request target and normalises its path. */
export function parseRequestTarget(target: string): RequestTarget {
  const queryStart = target.indexOf('?');
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const query = queryStart === -1 ? undefined : target.slice(queryStart + 1);
  return { path: normalizePath(rawPath), query };
}

/**
 * RFC 3986 normalisation that leaves no room between what the policy sees and what the app serves: unreserved
 * characters percent-decoded, dot segments resolved, repeated slashes collapsed. Encoded `/`, `\` and NUL, raw `\`,
 * invalid or overlong UTF-8, `..` that would climb above the root, and `..;` (a dot segment to Java servers) are
 * refused rather than guessed at.
 */
export function normalizePath(rawPath: string): string {
  if (rawPath.charCodeAt(0) !== 0x2f) throw new PathRejected('the request path must start with /');
  let needsWork = false;
  for (let index = 0; index < rawPath.length; index++) {
    const code = rawPath.charCodeAt(index);
    if (code <= 0x20 || code >= 0x7f || code === 0x5c || code === 0x23) {
      throw new PathRejected('the request path has a character that must be percent-encoded');
    }
    if (code === 0x25 || (code === 0x2f && (rawPath.charCodeAt(index + 1) === 0x2f || rawPath.charCodeAt(index + 1) === 0x2e))) {
      needsWork = true;
    }
  }
  return needsWork ? resolveSegments(decodeUnreserved(rawPath)) : rawPath;
}

function decodeUnreserved(path: string): string {
  if (!path.includes('%')) return path;
  let out = '';
  let pendingUtf8: number[] = [];
  const flushUtf8 = () => {
    if (pendingUtf8.length === 0) return;
    try {
      UTF8.decode(Uint8Array.from(pendingUtf8));
    } catch {
      throw new PathRejected('the request path has invalid or overlong UTF-8');
    }
    for (const byte of pendingUtf8) out += `%${byte.toString(16).toUpperCase()}`;
    pendingUtf8 = [];
  };
  for (let index = 0; index < path.length; index++) {
    const char = path[index]!;
    if (char !== '%') {
      flushUtf8();
      out += char;
      continue;
    }
    const hex = path.slice(index + 1, index + 3);
    if (!HEX.test(hex)) throw new PathRejected('the request path has an invalid percent-encoding');
    index += 2;
    const byte = Number.parseInt(hex, 16);
    if (byte >= 0x80) {
      pendingUtf8.push(byte);
      continue;
    }
    flushUtf8();
    if (byte === 0x2f || byte === 0x5c || byte === 0x00) {
      throw new PathRejected('the request path has an encoded slash, backslash or NUL');
    }
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${hex.toUpperCase()}`;
  }
  flushUtf8();
  return out;
}

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

function resolveSegments(path: string): string {
  const input = path.split('/');
  const output: string[] = [];
  for (let index = 1; index < input.length; index++) {
    const segment = input[index]!;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (output.length === 0) throw new PathRejected('the request path climbs above the root');
      output.pop();
      continue;
    }
    if (segment.startsWith('.;') || segment.startsWith('..;')) {
      throw new PathRejected('the request path has a dot segment with parameters');
    }
    output.push(segment);
  }
  const last = input[input.length - 1];
  const trailingSlash = output.length > 0 && (last === '' || last === '.' || last === '..');
  return `/${output.join('/')}${trailingSlash ? '/' : ''}`;
}
