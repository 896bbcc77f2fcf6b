import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { SignJWT } from 'jose';
import { close, listen, useStarted } from './lifecycle.js';
import { recordIssuedToken } from './secret-audit.js';
import { createSigningKey, epoch, type Claims, type Header, type SigningKey } from './tokens.js';

/**
 * A controllable IdP stand-in on loopback: discovery + JWKS whose keys, answers and faults the test decides.
 *
 * Modes, per endpoint (setMode without an endpoint sets both):
 * - ok:           200 with the document
 * - down:         the connection is reset (TCP RST) as soon as the request arrives; no HTTP answer at all
 * - hang:         the request is accepted and never answered (until stop)
 * - 500:          500 with a JSON error body
 * - invalid-json: 200, content-type application/json, a body that is not JSON
 * - empty-keys:   the JWKS is `{"keys":[]}`; discovery answers as in ok
 *
 * 'down' resets rather than closing the listener: setMode stays synchronous and the port can never be taken by
 * someone else meanwhile. A client sees a network error (ECONNRESET / "other side closed") either way.
 */

export type JwksServerMode = 'ok' | 'down' | 'hang' | '500' | 'invalid-json' | 'empty-keys';
export type JwksServerEndpoint = 'jwks' | 'discovery';

export interface SignOptions {
  /** Which key signs; default the current one. Removed keys can still sign (their tokens then fail to verify). */
  kid?: string;
  /** Extra or replacing protected header members (alg and kid come from the key unless given here). */
  header?: Header;
}

export interface JwksServer {
  issuer: string;
  jwksUri: string;
  discoveryUrl: string;
  port: number;
  setMode(mode: JwksServerMode, endpoint?: JwksServerEndpoint): void;
  /** Serves this document verbatim as the JWKS instead of the managed keys; undefined goes back to them. */
  setKeys(jwks: unknown): void;
  /** Members merged over the discovery document (e.g. a wrong issuer); undefined clears them. */
  setDiscoveryOverrides(overrides?: Record<string, unknown>): void;
  /** Cache-Control sent with both documents; undefined sends none. */
  setCacheControl(value?: string): void;
  /** JWKS requests that reached the server, whatever the mode answered. */
  fetchCount(): number;
  /** Discovery requests that reached the server, whatever the mode answered. */
  discoveryCount(): number;
  /**
   * A JWT signed by the current key (or options.kid): iss = issuer, iat = now, exp = now + 300 unless `claims` says
   * otherwise (a claim set to undefined is left out).
   */
  sign(claims?: Claims, options?: SignOptions): Promise<string>;
  currentKid(): string;
  /** Publishes a new key without signing with it; returns its kid. */
  addKey(alg?: string): Promise<string>;
  /** Stops publishing a key. */
  removeKey(kid: string): void;
  /** Publishes a new key and signs with it from now on; the previous one stays published unless told otherwise. */
  rotate(options?: { alg?: string; keepPrevious?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

export const JWKS_PATH = '/jwks';
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

export async function startJwksServer(options: { alg?: string } = {}): Promise<JwksServer> {
  const keys = new Map<string, SigningKey>();
  const published = new Set<string>();
  const modes: Record<JwksServerEndpoint, JwksServerMode> = { jwks: 'ok', discovery: 'ok' };
  const counts: Record<JwksServerEndpoint, number> = { jwks: 0, discovery: 0 };
  let keysOverride: unknown;
  let discoveryOverrides: Record<string, unknown> | undefined;
  let cacheControl: string | undefined;

  async function addKey(alg = options.alg ?? 'RS256'): Promise<string> {
    const key = await createSigningKey(alg);
    keys.set(key.kid, key);
    published.add(key.kid);
    return key.kid;
  }
  let currentKid = await addKey();

  function documentFor(endpoint: JwksServerEndpoint): unknown {
    if (endpoint === 'discovery') {
      const algs = [...new Set([...published].map((kid) => keys.get(kid)!.alg))];
      return {
        issuer,
        jwks_uri: jwksUri,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: algs,
        ...discoveryOverrides,
      };
    }
    if (modes.jwks === 'empty-keys') return { keys: [] };
    return keysOverride ?? { keys: [...published].map((kid) => keys.get(kid)!.publicJwk) };
  }

  function answer(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const endpoint: JwksServerEndpoint | undefined =
      path === JWKS_PATH ? 'jwks' : path === DISCOVERY_PATH ? 'discovery' : undefined;
    if (!endpoint) {
      res.writeHead(404).end();
      return;
    }
    counts[endpoint] += 1;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (cacheControl !== undefined) headers['cache-control'] = cacheControl;
    switch (modes[endpoint]) {
      case 'down':
        req.socket.resetAndDestroy();
        return;
      case 'hang':
        return;
      case '500':
        res.writeHead(500, headers).end('{"error":"server_error"}');
        return;
      case 'invalid-json':
        res.writeHead(200, headers).end('{"keys": [ this is not json');
        return;
      case 'ok':
      case 'empty-keys':
        res.writeHead(200, headers).end(JSON.stringify(documentFor(endpoint)));
    }
  }

  const server = createServer(answer);
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;
  const jwksUri = `${issuer}${JWKS_PATH}`;

  return {
    issuer,
    jwksUri,
    discoveryUrl: `${issuer}${DISCOVERY_PATH}`,
    port,
    setMode(mode, endpoint) {
      if (endpoint) modes[endpoint] = mode;
      else modes.jwks = modes.discovery = mode;
    },
    setKeys(jwks) {
      keysOverride = jwks;
    },
    setDiscoveryOverrides(overrides) {
      discoveryOverrides = overrides;
    },
    setCacheControl(value) {
      cacheControl = value;
    },
    fetchCount: () => counts.jwks,
    discoveryCount: () => counts.discovery,
    async sign(claims = {}, { kid = currentKid, header } = {}) {
      const key = keys.get(kid);
      if (!key) throw new Error(`no key ${kid} on this JWKS server`);
      const token = await new SignJWT({ iss: issuer, iat: epoch(), exp: epoch(300), ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
        .sign(key.privateKey);
      recordIssuedToken(token);
      return token;
    },
    currentKid: () => currentKid,
    addKey,
    removeKey(kid) {
      published.delete(kid);
    },
    async rotate({ alg, keepPrevious = true } = {}) {
      const previous = currentKid;
      currentKid = await addKey(alg);
      if (!keepPrevious) published.delete(previous);
      return currentKid;
    },
    stop: () => close(server),
  };
}

/** A JwksServer for the tests of one file. */
export function useJwksServer(options?: { alg?: string }): () => JwksServer {
  return useStarted(() => startJwksServer(options));
}
