/**
 * Headers that describe one connection rather than the message (RFC 9110 section 7.6.1): a proxy consumes them and
 * never forwards them. `proxy-connection` is the pre-standard spelling some clients still send.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Connection values that name no other header: what nearly every client sends. */
const PLAIN_CONNECTION: ReadonlySet<string> = new Set(['keep-alive', 'close', 'upgrade']);

/**
 * The header names a Connection header lists, lower-case: they are hop-by-hop for this message as well.
 * Undefined when there is no Connection header, so the common case allocates nothing.
 */
export function connectionOptions(connection: string | string[] | undefined): ReadonlySet<string> | undefined {
  if (connection === undefined) return undefined;
  if (typeof connection === 'string' && PLAIN_CONNECTION.has(connection.toLowerCase())) return undefined;
  const names = new Set<string>();
  for (const value of typeof connection === 'string' ? [connection] : connection) {
    for (const option of value.split(',')) {
      const name = option.trim().toLowerCase();
      if (name) names.add(name);
    }
  }
  return names;
}
