import type { IncomingMessage } from 'node:http';
import type { GateDecision } from '../gate/access-gate.js';
import { HOP_BY_HOP_HEADERS, connectionOptions } from './hop-by-hop.js';
import { IDENTITY_PREFIX, IdentityHeaderAliases, identitySpoof, type IdentitySpoofObserver } from '../gate/identity-aliases.js';
/** The data-plane listener speaks plain HTTP; TLS, when there is any, ends before tokenwatch. */
const LISTENER_PROTO = 'http';

/**
 * The header list the upstream receives, as a flat [name, value, ...] list (what undici and http.request take):
 * the client's headers in their order, case and duplicates, less hop-by-hop headers, headers the Connection header
 * names, `Expect` (Node answered it already), every identity header (any case, any number of times), every alias
 * of one (`X_Auth_Subject`: identity-aliases.ts; dropped and reported, never refused, docs/decisions/0008) and
 * Authorization when the token is not forwarded; then X-Forwarded-For/-Proto/-Host with this hop appended, and
 * last the identity headers of the verified token.
 */
export class UpstreamRequestHeaders {
  private readonly dropped: ReadonlySet<string>;
  private readonly aliases: IdentityHeaderAliases;

  constructor(
    identityHeaderNames: readonly string[],
    forwardToken: boolean,
    /** Host sent when the client sent none (HTTP/1.0). */
    private readonly upstreamHost: string,
    /** Told of every forwarded request from which aliases of identity headers were dropped. */
    private readonly spoofObserver: IdentitySpoofObserver,
  ) {
    this.aliases = new IdentityHeaderAliases(identityHeaderNames);
    const dropped = new Set([...HOP_BY_HOP_HEADERS, 'expect', ...identityHeaderNames.map((name) => name.toLowerCase())]);
    if (!forwardToken) dropped.add('authorization');
    this.dropped = dropped;
  }

  /**
   * `traceparent`, when tracing is on, replaces the client's: the validation span becomes the upstream's parent.
   * `upgrade`, when given, is the protocol of a WebSocket handshake and keeps Connection: Upgrade.
   */
  build(request: IncomingMessage, identity: ReadonlyArray<readonly [string, string]>, traceparent: string | undefined, upgrade?: string): string[] {
    const rawHeaders = request.rawHeaders;
    const listed = connectionOptions(request.headers.connection);
    const headers: string[] = [];
    let forwardedFor: string | undefined;
    let forwardedProto: string | undefined;
    let forwardedHost: string | undefined;
    let host: string | undefined;
    let aliases: string[] | undefined;
    for (let index = 0; index < rawHeaders.length; index += 2) {
      const name = rawHeaders[index]!;
      const value = rawHeaders[index + 1]!;
      const lower = name.toLowerCase();
      if (this.dropped.has(lower) || lower.startsWith(IDENTITY_PREFIX) || listed?.has(lower)) continue;
      if (traceparent !== undefined && lower === 'traceparent') continue;
      if (this.aliases.isAlias(name)) {
        (aliases ??= []).push(name);
        continue;
      }
      switch (lower) {
        case 'x-forwarded-for':
          forwardedFor = appendTo(forwardedFor, value);
          continue;
        case 'x-forwarded-proto':
          forwardedProto = appendTo(forwardedProto, value);
          continue;
        case 'x-forwarded-host':
          forwardedHost = appendTo(forwardedHost, value);
          continue;
        case 'host':
          host = value;
      }
      headers.push(name, value);
    }
    if (host === undefined) headers.push('host', this.upstreamHost);
    const peer = request.socket.remoteAddress;
    if (peer !== undefined) forwardedFor = appendTo(forwardedFor, peer);
    if (forwardedFor !== undefined) headers.push('x-forwarded-for', forwardedFor);
    headers.push('x-forwarded-proto', appendTo(forwardedProto, LISTENER_PROTO));
    if (host !== undefined) headers.push('x-forwarded-host', appendTo(forwardedHost, host));
    else if (forwardedHost !== undefined) headers.push('x-forwarded-host', forwardedHost);
    if (upgrade !== undefined) headers.push('connection', 'upgrade', 'upgrade', upgrade);
    if (traceparent !== undefined) headers.push('traceparent', traceparent);
    for (const [name, value] of identity) headers.push(name, value);
    if (aliases !== undefined) this.spoofObserver.identityHeaderSpoofed(identitySpoof('proxy', request.method!, request.url!, aliases));
    return headers;
  }
}

function appendTo(list: string | undefined, value: string): string {
  return list === undefined ? value : `${list}, ${value}`;
}

/** The request target the upstream receives: the path the routes matched, and the query exactly as sent. */
export function upstreamTarget(decision: GateDecision): string {
  return decision.query === undefined ? decision.path! : `${decision.path!}?${decision.query}`;
}
