import { HOP_BY_HOP_HEADERS, connectionOptions } from './hop-by-hop.js';

/**
 * The upstream's response headers as the client receives them, flat [name, value, ...] as `writeHead` takes them:
 * in their order, case and duplicates (Set-Cookie above all), less hop-by-hop headers and those the upstream's
 * Connection header names. Node sets its own framing (Content-Length kept, else chunked) and connection headers.
 */
export function responseHeaders(raw: readonly (Buffer | string)[] | null | undefined): string[] {
  const headers: string[] = [];
  if (!raw) return headers;
  let listed: ReadonlySet<string> | undefined;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]!.toString('latin1');
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      const options = connectionOptions(raw[index + 1]!.toString('latin1'));
      if (options) listed = listed ? new Set([...listed, ...options]) : options;
    }
  }
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]!.toString('latin1');
    const lower = name.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(lower) || listed?.has(lower)) continue;
    headers.push(name, raw[index + 1]!.toString('latin1'));
  }
  return headers;
}
