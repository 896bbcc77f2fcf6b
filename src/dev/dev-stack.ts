import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import { oidcProviderEventLine } from '../idp-events/index.js';
import { startSidecar } from '../main/sidecar.js';
import { createLogger } from '../logging/logger.js';
import { startDemoUpstream } from './demo-upstream.js';
import { startEmbeddedIdp, type DemoClient } from './embedded-idp.js';

export interface DevStackOptions {
  mode: 'proxy' | 'authz';
  host?: string;
  port: number;
  adminPort: number;
  idpPort: number;
  upstreamPort: number;
  out: NodeJS.WritableStream;
  logLevel?: string;
}

export interface DevStack {
  idpIssuer: string;
  dataPlaneUrl: string;
  adminUrl: string;
  upstreamUrl: string;
  stop(): Promise<void>;
}

/** The routes of the demo: reads need read:orders, writes write:orders, /healthz is public. */
export const DEV_ROUTES = [
  { path: '/healthz', public: true },
  { path: '/api/orders/**', methods: ['GET', 'HEAD'], scopes: ['read:orders'] },
  { path: '/api/orders/**', methods: ['POST', 'PUT', 'PATCH', 'DELETE'], scopes: ['write:orders'] },
];

/**
 * `tokenwatch dev`: a real OIDC provider, a demo upstream that echoes what it receives, and tokenwatch in front,
 * all on loopback, with curl commands that show each answer.
 */
export async function runDevStack(options: DevStackOptions): Promise<DevStack> {
  const host = options.host ?? '127.0.0.1';
  // The IdP's events go to a JSON-lines file that tokenwatch follows, so /metrics shows issuance end to end.
  const eventsDir = await mkdtemp(join(tmpdir(), 'tokenwatch-dev-'));
  const eventsFile = join(eventsDir, 'idp-events.jsonl');
  const events = createWriteStream(eventsFile, { flags: 'a' });
  const idp = await startEmbeddedIdp({
    host,
    port: options.idpPort,
    onEvent: (name, ctx, error) => {
      const line = oidcProviderEventLine(name, ctx, error);
      if (line) events.write(`${line}\n`);
    },
  });
  const upstream = await startDemoUpstream({ host, port: options.upstreamPort });
  const config = validateConfig(
    {
      mode: options.mode,
      ...(options.mode === 'proxy' ? { upstream: upstream.url } : { authz: { requestSource: 'request-line' } }),
      listen: `${host}:${options.port}`,
      admin: `${host}:${options.adminPort}`,
      logLevel: options.logLevel ?? 'warn',
      issuers: [{ issuer: idp.issuer, audiences: ['orders-api'], requireTyp: 'at+jwt', jwksCacheMaxAge: '5m' }],
      routes: DEV_ROUTES,
      idpEvents: [{ path: eventsFile, format: 'oidc-provider', issuer: idp.issuer, fromBeginning: true }],
    },
    'tokenwatch dev',
  );
  const sidecar = await startSidecar(config, createLogger(config.logLevel));
  await Promise.all(sidecar.issuers.map((issuer) => issuer.keys.refresh()));

  options.out.write(banner({ mode: options.mode, idpIssuer: idp.issuer, tokenEndpoint: idp.tokenEndpoint, sidecar: sidecar.dataPlaneUrl, admin: sidecar.adminUrl, upstream: upstream.url, orders: idp.clients.orders, reporting: idp.clients.reporting }));

  return {
    idpIssuer: idp.issuer,
    dataPlaneUrl: sidecar.dataPlaneUrl,
    adminUrl: sidecar.adminUrl,
    upstreamUrl: upstream.url,
    async stop() {
      await sidecar.shutdown();
      await Promise.all([upstream.stop(), idp.stop()]);
      await new Promise((resolve) => events.end(resolve));
      await rm(eventsDir, { recursive: true, force: true });
    },
  };
}

interface BannerFacts {
  mode: 'proxy' | 'authz';
  idpIssuer: string;
  tokenEndpoint: string;
  sidecar: string;
  admin: string;
  upstream: string;
  orders: DemoClient;
  reporting: DemoClient;
}

function tokenCommand(variable: string, tokenEndpoint: string, client: DemoClient): string {
  return (
    `${variable}=$(curl -s -u '${client.clientId}:${client.clientSecret}' -d grant_type=client_credentials ` +
    `-d scope='${client.scopes.join(' ')}' ${tokenEndpoint} | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`
  );
}

function banner(facts: BannerFacts): string {
  const api = `${facts.sidecar}/api/orders/42`;
  return `
tokenwatch dev stack is up (Ctrl-C stops everything)
  identity provider  ${facts.idpIssuer}  (oidc-provider, client_credentials, JWT access tokens)
  tokenwatch         ${facts.sidecar}  (${facts.mode === 'proxy' ? `reverse proxy in front of ${facts.upstream}` : 'forward-auth: every path is the check'})
  admin              ${facts.admin}/readyz  ${facts.admin}/metrics
  demo upstream      ${facts.upstream}  (echoes the headers it receives)

Copy and paste:

  # a token for orders-service (scopes read:orders write:orders)
  ${tokenCommand('TOKEN', facts.tokenEndpoint, facts.orders)}

  # 200: ${facts.mode === 'proxy' ? 'allowed; the demo upstream echoes the identity headers tokenwatch gave it (x-auth-*)' : 'allowed; the identity headers come back on the answer'}
  curl -i -H "Authorization: Bearer $TOKEN" ${api}

  # 401: no token
  curl -i ${api}

  # 401: tampered token (the end of its signature replaced)
  curl -i -H "Authorization: Bearer \${TOKEN%?????}AAAAA" ${api}

  # 403: a token without read:orders (reporting-service has only read:reports)
  ${tokenCommand('OTHER', facts.tokenEndpoint, facts.reporting)}
  curl -i -H "Authorization: Bearer $OTHER" ${api}

  # readiness (keys loaded per issuer) and metrics
  curl -s ${facts.admin}/readyz
  curl -s ${facts.admin}/metrics | grep -E '^(token_validation_total|token_issuance_total)'
`;
}
