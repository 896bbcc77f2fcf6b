import { randomBytes } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { createServer } from '../platform/node-http.js';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { TokenwatchError } from '../errors.js';

/**
 * A real OpenID Provider (oidc-provider) on loopback for `tokenwatch dev` and the integration tests. It issues
 * RFC 9068 JWT access tokens through the client_credentials grant for one resource server (the audience).
 */

export type EmbeddedIdpSigningAlg = 'RS256' | 'ES256' | 'PS256';

export interface EmbeddedIdpOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks an ephemeral port. */
  port?: number;
  /** The `aud` of every access token. Default 'orders-api'. */
  audience?: string;
  /** Default 300. */
  accessTokenTtlSeconds?: number;
  /** Default RS256. */
  signingAlg?: EmbeddedIdpSigningAlg;
  /** Receives the provider's events (see FORWARDED_EVENTS) with the provider's own arguments. */
  onEvent?: (name: string, ...args: unknown[]) => void;
  /** The signing key to start with (of `signingAlg`); a new one by default. */
  signingKey?: SigningKey;
  /** The demo clients' secrets; new random ones by default. */
  clientSecrets?: DemoClientSecrets;
}

/** The secrets of the two demo clients, kept by `tokenwatch dev` so that its curl lines work across restarts. */
export interface DemoClientSecrets {
  orders: string;
  reporting: string;
}

export interface DemoClient {
  clientId: string;
  clientSecret: string;
  scopes: string[];
}

export interface EmbeddedIdp {
  /** e.g. http://127.0.0.1:PORT; discovery at issuer + '/.well-known/openid-configuration'. */
  issuer: string;
  jwksUri: string;
  tokenEndpoint: string;
  clients: {
    /** May have read:orders and write:orders. */
    orders: DemoClient;
    /** May have only read:reports: the client that gets a 403 from the orders routes. */
    reporting: DemoClient;
  };
  /** A client_credentials grant over HTTP; scopes default to all of the client's. Returns the JWT access token. */
  getToken(client: DemoClient, scopes?: string[]): Promise<string>;
  /** The token endpoint's JSON answer; throws TokenRequestError on an error answer. */
  getTokenResponse(client: DemoClient, scopes?: string[]): Promise<Record<string, unknown>>;
  /** The kid that signs new access tokens. */
  currentKid(): string;
  /** Signs with a new key from now on; the previous signing key stays published unless keepPrevious is false. */
  rotateKeys(options?: { keepPrevious?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/** The token endpoint refused a request; `code` is the OAuth error code (invalid_scope, invalid_client...). */
export class TokenRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string | undefined,
  ) {
    super(`token request failed with ${status} ${code}${description ? `: ${description}` : ''}`);
    this.name = 'TokenRequestError';
  }
}

/**
 * Provider events passed to onEvent. A client_credentials JWT fires 'client_credentials.issued' (model events are
 * named after the model; '.saved' is for tokens kept in the adapter, i.e. opaque ones), then 'grant.success'; a
 * refused token request fires 'grant.error' with (ctx, error). access_token.* only fire for user-facing flows.
 */
export const FORWARDED_EVENTS = [
  'grant.success',
  'grant.error',
  'access_token.issued',
  'access_token.saved',
  'client_credentials.issued',
  'client_credentials.saved',
  'jwks.error',
  'discovery.error',
  'introspection.error',
  'revocation.error',
  'end_session.success',
  'server_error',
] as const;

const ORDERS_SCOPES = ['read:orders', 'write:orders'];
const REPORTING_SCOPES = ['read:reports'];
const API_SCOPES = [...ORDERS_SCOPES, ...REPORTING_SCOPES];

/** The part of oidc-provider's Provider (a Koa application) used here; the package ships no type declarations. */
interface OidcProvider {
  callback(): RequestListener;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  urlFor(route: string): string;
}
interface OidcProviderModule {
  Provider: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
  errors: { InvalidTarget: new (description?: string) => Error };
}

/**
 * oidc-provider prints notices through console.info/console.warn, prefixed 'oidc-provider NOTICE:'/'WARNING:': one at
 * import on Node 20 ("Unsupported runtime"), one per construction for the in-memory adapter. They are expected in a
 * dev IdP, so they are dropped while the package loads and while a provider is built; other output passes through.
 */
const PROVIDER_NOTICE = /oidc-provider (NOTICE|WARNING):/;

/** Installs the filter; the returned function puts console back. */
function muteProviderNotices(): () => void {
  const { info, warn } = console;
  const filter =
    (print: (...data: unknown[]) => void) =>
    (...data: unknown[]): void => {
      if (typeof data[0] === 'string' && PROVIDER_NOTICE.test(data[0])) return;
      print(...data);
    };
  console.info = filter(info);
  console.warn = filter(warn);
  return () => {
    console.info = info;
    console.warn = warn;
  };
}

let providerModule: Promise<OidcProviderModule> | undefined;

/** The oidc-provider package, loaded once; DevDependencyMissing when it is not installed. */
export function loadOidcProvider(): Promise<OidcProviderModule> {
  // A variable specifier keeps TypeScript from demanding declarations the package does not have.
  const specifier = 'oidc-provider';
  providerModule ??= (async () => {
    const unmute = muteProviderNotices();
    try {
      return (await import(specifier)) as OidcProviderModule;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${specifier}'`)) {
        throw new DevDependencyMissing(specifier, OIDC_PROVIDER_RANGE);
      }
      throw error;
    } finally {
      unmute();
    }
  })();
  providerModule.catch(() => (providerModule = undefined));
  return providerModule;
}

/** The oidc-provider versions the embedded IdP is written against (package.json's devDependencies say the same). */
const OIDC_PROVIDER_RANGE = '^9.13.3';

/**
 * A package only `tokenwatch dev` uses is not installed: the container image and `npm install --omit=dev` leave the
 * dev IdP out, so production never carries it.
 */
export class DevDependencyMissing extends TokenwatchError {
  override readonly name = 'DevDependencyMissing';
  readonly code = 'ERR_DEV_DEPENDENCY_MISSING';

  constructor(packageName: string, range: string) {
    super(
      `tokenwatch dev needs the ${packageName} package for its embedded OIDC provider, and it is not installed ` +
        `(production installs leave it out). Install it next to tokenwatch: npm install ${packageName}@${range}`,
    );
  }
}

/** A private signing key as a JWK, with its kid (the key's thumbprint). */
export interface SigningKey {
  kid: string;
  privateJwk: JWK;
}

export async function createSigningKey(alg: EmbeddedIdpSigningAlg): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateJwk: { ...jwk, kid, alg, use: 'sig' } };
}

export function createClientSecrets(): DemoClientSecrets {
  return { orders: randomBytes(24).toString('base64url'), reporting: randomBytes(24).toString('base64url') };
}

/** Resource indicators must be absolute URIs (RFC 8707); a bare audience such as 'orders-api' becomes a URN. */
function resourceIndicatorFor(audience: string): string {
  return URL.canParse(audience) ? audience : `urn:tokenwatch:resource:${audience}`;
}

function originOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export async function startEmbeddedIdp(options: EmbeddedIdpOptions = {}): Promise<EmbeddedIdp> {
  const {
    host = '127.0.0.1',
    port = 0,
    audience = 'orders-api',
    accessTokenTtlSeconds = 300,
    signingAlg = 'RS256',
    onEvent,
    clientSecrets = createClientSecrets(),
  } = options;
  const { Provider, errors } = await loadOidcProvider();
  const resource = resourceIndicatorFor(audience);
  const clients = {
    orders: { clientId: 'orders-service', clientSecret: clientSecrets.orders, scopes: ORDERS_SCOPES },
    reporting: { clientId: 'reporting-service', clientSecret: clientSecrets.reporting, scopes: REPORTING_SCOPES },
  };
  /** Signing key first, then the previous one while it is kept. */
  let keys = [options.signingKey ?? (await createSigningKey(signingAlg))];

  // The issuer needs the bound port, so the listener comes first; the provider is plugged in behind it, and swapped
  // for a new one on key rotation.
  let handle: RequestListener = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const issuer = originOf(host, (server.address() as AddressInfo).port);

  function providerConfiguration(signingKeys: SigningKey[]): Record<string, unknown> {
    const signingKid = signingKeys[0]!.kid;
    return {
      clients: Object.values(clients).map((client) => ({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: client.scopes.join(' '),
      })),
      jwks: { keys: signingKeys.map((key) => ({ ...key.privateJwk })) },
      // Declaring the API scopes makes them "static": a client asking for one outside its `scope` gets invalid_scope.
      scopes: ['openid', ...API_SCOPES],
      clientDefaults: { id_token_signed_response_alg: signingAlg },
      // Browser CORS has no use here; answering it keeps the provider from printing its "SHOULD change" notice.
      clientBasedCORS: () => false,
      ttl: { AccessToken: accessTokenTtlSeconds, ClientCredentials: accessTokenTtlSeconds },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
        resourceIndicators: {
          enabled: true,
          // Without a default resource, a client_credentials token would be opaque and audience-less.
          defaultResource: async () => resource,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
            if (indicator !== resource) throw new errors.InvalidTarget();
            return {
              audience,
              scope: API_SCOPES.join(' '),
              accessTokenTTL: accessTokenTtlSeconds,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: signingAlg, kid: signingKid } },
            };
          },
        },
      },
    };
  }

  function buildProvider(signingKeys: SigningKey[]): OidcProvider {
    const unmute = muteProviderNotices();
    let built: OidcProvider;
    try {
      built = new Provider(issuer, providerConfiguration(signingKeys));
    } finally {
      unmute();
    }
    if (onEvent) {
      for (const name of FORWARDED_EVENTS) built.on(name, (...args) => onEvent(name, ...args));
    }
    return built;
  }

  const provider = buildProvider(keys);
  handle = provider.callback();
  const tokenEndpoint = provider.urlFor('token');
  const jwksUri = provider.urlFor('jwks');

  async function getTokenResponse(client: DemoClient, scopes = client.scopes): Promise<Record<string, unknown>> {
    const credentials = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`;
    const response = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: scopes.join(' ') }),
    });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const code = typeof body.error === 'string' ? body.error : 'invalid_response';
      const description = typeof body.error_description === 'string' ? body.error_description : undefined;
      throw new TokenRequestError(response.status, code, description);
    }
    return body;
  }

  return {
    issuer,
    jwksUri,
    tokenEndpoint,
    clients,
    getTokenResponse,
    async getToken(client, scopes) {
      const { access_token: accessToken } = await getTokenResponse(client, scopes);
      if (typeof accessToken !== 'string') throw new TypeError('token response has no access_token');
      return accessToken;
    },
    currentKid: () => keys[0]!.kid,
    async rotateKeys({ keepPrevious = true } = {}) {
      const next = await createSigningKey(signingAlg);
      const rotated = keepPrevious ? [next, keys[0]!] : [next];
      // A provider's keystore is fixed at construction: the new one takes over the same listener.
      handle = buildProvider(rotated).callback();
      keys = rotated;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
