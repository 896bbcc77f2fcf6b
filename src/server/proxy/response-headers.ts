import { HOP_BY_HOP_HEADERS, connectionOptions } from './hop-by-hop.js';

/**
 * The upstream's response headers as the client receives them, flat [name, value, ...] as `writeHead` takes them:
 * in their order, case and duplicates (Set-Cookie above all), less hop-by-hop headers and those the upstream's
 * Connection header names. Node sets its own framing (Content-Length kept, else chunked) and connection headers.
 */
export function responseHeaders(raw: readonly (Buffer | string)[] | null | undefined): string[] {
  const headers: string[] = [];
  if (!raw) return headers;
  const text = raw.map((part) => part.toString('latin1'));
  let listed: ReadonlySet<string> | undefined;
  for (let index = 0; index < text.length; index += 2) {
    if (text[index]!.length === 10 && text[index]!.toLowerCase() === 'connection') {
      const options = connectionOptions(text[index + 1]!);
      if (options) listed = listed ? new Set([...listed, ...options]) : options;
    }
  }
  for (let index = 0; index < text.length; index += 2) {
    const lower = text[index]!.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(lower) || listed?.has(lower)) continue;
    headers.push(text[index]!, text[index + 1]!);
  }
  return headers;
}
