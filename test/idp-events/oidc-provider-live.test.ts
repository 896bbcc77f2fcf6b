import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OIDC_PROVIDER_EVENTS, oidcProviderEventLine, parseOidcProviderLine } from '../../src/idp-events/formats/oidc-provider.js';

const SECRET = 'a-client-secret-that-must-never-be-logged';

/** The part of oidc-provider used here; the package ships no type declarations. */
interface OidcProvider {
  callback(): (request: unknown, response: unknown) => void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;

async function createProvider(issuer: string, configuration: Record<string, unknown>): Promise<OidcProvider> {
  // A variable specifier keeps TypeScript from demanding the declarations the package does not have.
  const specifier = 'oidc-provider';
  // Its runtime and development-keys notices are expected here.
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    const { default: Provider } = (await import(specifier)) as { default: ProviderConstructor };
    return new Provider(issuer, configuration);
  } finally {
    warn.mockRestore();
  }
}

describe('oidcProviderEventLine on a real oidc-provider', () => {
  const lines: string[] = [];
  let server: Server;
  let tokenEndpoint: string;
  let revocationEndpoint: string;

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const provider = await createProvider(issuer, {
      clients: [{ client_id: 'orders', client_secret: SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }],
      features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false }, revocation: { enabled: true } },
      clientBasedCORS: () => false,
    });
    for (const name of OIDC_PROVIDER_EVENTS) {
      provider.on(name, (ctx: unknown, error: unknown) => {
        const line = oidcProviderEventLine(name, ctx, error);
        if (line !== undefined) lines.push(line);
      });
    }
    server.on('request', provider.callback() as Parameters<Server['on']>[1]);
    tokenEndpoint = `${issuer}/token`;
    revocationEndpoint = `${issuer}/token/revocation`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function requestToken(secret: string): Promise<Record<string, unknown>> {
    const response = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`orders:${secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    return (await response.json()) as Record<string, unknown>;
  }

  it('writes a grant.success line that reads back as a client_credentials issuance, without the token', async () => {
    const answer = await requestToken(SECRET);
    expect(typeof answer.access_token).toBe('string');
    const line = lines.at(-1)!;
    expect(line).not.toContain(answer.access_token as string);
    expect(line).not.toContain(SECRET);
    expect(parseOidcProviderLine(line)).toMatchObject({ outcome: 'issued', grantType: 'client_credentials', clientId: 'orders' });
  });

  it('writes a grant.error line with the OAuth error code, without the presented secret', async () => {
    const answer = await requestToken('wrong-secret-value');
    expect(answer.error).toBe('invalid_client');
    const line = lines.at(-1)!;
    expect(line).not.toContain('wrong-secret-value');
    expect(parseOidcProviderLine(line)).toMatchObject({ outcome: 'error', error: 'invalid_client', clientId: 'orders' });
  });

  it('writes a client_credentials.destroyed line for a token revoked at the revocation endpoint, read back as a revocation, without the token', async () => {
    const answer = await requestToken(SECRET);
    const token = answer.access_token as string;
    const response = await fetch(revocationEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`orders:${SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(response.status).toBe(200);
    const line = lines.at(-1)!;
    expect(line).not.toContain(token);
    expect(line).not.toContain(SECRET);
    expect(JSON.parse(line)).toMatchObject({ event: 'client_credentials.destroyed', client_id: 'orders' });
    expect(parseOidcProviderLine(line)).toMatchObject({ outcome: 'revoked', clientId: 'orders' });
  });
});
