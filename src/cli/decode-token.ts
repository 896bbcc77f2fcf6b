import { TokenwatchError } from '../errors.js';
/**
 * Reading and decoding a token for inspection, without verifying anything: the same structural rules as the
 * validator (compact JWS, three base64url parts, JSON objects), each failure said in words.
 */

/** The token cannot be decoded; the message says why and never contains the token. */
export class TokenDecodeError extends TokenwatchError {
  override readonly name = 'TokenDecodeError';
  readonly code = 'ERR_TOKEN_DECODE';
}

export interface DecodedToken {
  /** The compact token as given, after trimming and without a `Bearer ` prefix. */
  compact: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** Length of the base64url signature; the signature itself is never shown. */
  signatureLength: number;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BEARER_PREFIX = /^bearer\s+/i;
/** Far above any token a sidecar accepts (65,536 at most); stops `inspect-token - < bigfile` early. */
const MAX_INPUT_BYTES = 1024 * 1024;

/** The token from the argument, or from standard input for `-`: trimmed, a leading `Bearer ` removed. */
export async function readTokenInput(tokenArg: string, stdin: NodeJS.ReadableStream): Promise<string> {
  const raw = tokenArg === '-' ? await readAll(stdin) : tokenArg;
  const token = raw.trim().replace(BEARER_PREFIX, '');
  if (token === '') throw new TokenDecodeError(tokenArg === '-' ? 'standard input holds no token' : 'the token is empty');
  return token;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_INPUT_BYTES) throw new TokenDecodeError(`standard input is larger than ${MAX_INPUT_BYTES} bytes; that is not a token`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

export function decodeCompactJws(compact: string): DecodedToken {
  const parts = compact.split('.');
  if (parts.length === 5) throw new TokenDecodeError('this is an encrypted token (JWE, five parts); tokenwatch accepts only signed tokens (JWS)');
  if (parts.length !== 3) {
    throw new TokenDecodeError(`a compact JWS has three parts separated by dots; this has ${parts.length}`);
  }
  const [header, payload, signature] = parts as [string, string, string];
  for (const [name, part] of [['header', header], ['payload', payload], ['signature', signature]] as const) {
    if (!BASE64URL.test(part)) throw new TokenDecodeError(`the ${name} is not base64url (only A-Z a-z 0-9 - _, no padding)`);
  }
  return { compact, header: decodeJsonObject(header, 'header'), claims: decodeJsonObject(payload, 'payload'), signatureLength: signature.length };
}

function decodeJsonObject(encoded: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw new TokenDecodeError(`the ${name} is base64url but not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TokenDecodeError(`the ${name} is JSON but not an object`);
  return value as Record<string, unknown>;
}
