import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { stringify } from 'yaml';
import { validateConfig } from '../config/load.js';
import { oidcProviderEventLine } from '../idp-events/index.js';
import { startSidecar } from '../main/sidecar.js';
import { createLogger } from '../logging/logger.js';
import { startDemoUpstream } from './demo-upstream.js';
import { openDevState } from './dev-state.js';
import { loadOidcProvider, startEmbeddedIdp, type DemoClient } from './embedded-idp.js';

export interface DevStackOptions {
  mode: 'proxy' | 'authz';
  host?: string;
  port: number;
  adminPort: number;
  idpPort: number;
  upstreamPort: number;
  out: NodeJS.WritableStream;
  /** Default info: the audit log then shows one token_validated line per validation. */
  logLevel?: string;
  /** Where the signing key, client secrets, event log and config are kept across runs. */
  stateDir: string;
  /** Delete the state directory first: new keys and secrets. */
  reset: boolean;
  /** How the printed commands run this CLI, e.g. `npx tokenwatch`. */
  command: string;
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
  // Without the dev IdP (a production install), say what to install before anything is written.
  await loadOidcProvider();
  const { state, fresh } = await openDevState(options.stateDir, { reset: options.reset });
  // The IdP's events go to a JSON-lines file that tokenwatch follows, so /metrics shows issuance end to end. Each
  // run starts it empty: the counters start at zero with the process.
  const eventsFile = join(options.stateDir, 'idp-events.jsonl');
  const events = createWriteStream(eventsFile, { flags: 'w' });
  const idp = await startEmbeddedIdp({
    host,
    port: options.idpPort,
    signingKey: state.signingKey,
    clientSecrets: state.clientSecrets,
    onEvent: (name, ctx, error) => {
      const line = oidcProviderEventLine(name, ctx, error);
      if (line) events.write(`${line}\n`);
    },
  });
  const upstream = await startDemoUpstream({ host, port: options.upstreamPort });
  const raw = {
    mode: options.mode,
    ...(options.mode === 'proxy' ? { upstream: upstream.url } : { authz: { requestSource: 'request-line' } }),
    listen: `${host}:${options.port}`,
    admin: `${host}:${options.adminPort}`,
    logLevel: options.logLevel ?? 'info',
    issuers: [{ issuer: idp.issuer, audiences: ['orders-api'], requireTyp: 'at+jwt', jwksCacheMaxAge: '5m' }],
    routes: DEV_ROUTES,
    idpEvents: [{ path: eventsFile, format: 'oidc-provider', issuer: idp.issuer, fromBeginning: true }],
  };
  const config = validateConfig(raw, 'tokenwatch dev');
  const configFile = join(options.stateDir, 'config.yaml');
  await writeFile(configFile, `# The configuration \`tokenwatch dev\` runs with, written at each start (for inspect-token --config).\n${stringify(raw)}`);
  const logger = createLogger(config.logLevel);
  const sidecar = await startSidecar(config, logger);
  await Promise.all(sidecar.issuers.map((issuer) => issuer.keys.refresh()));

  options.out.write(
    banner({
      mode: options.mode,
      idpIssuer: idp.issuer,
      tokenEndpoint: idp.tokenEndpoint,
      sidecar: sidecar.dataPlaneUrl,
      admin: sidecar.adminUrl,
      upstream: upstream.url,
      orders: idp.clients.orders,
      reporting: idp.clients.reporting,
      stateDir: shown(options.stateDir),
      configFile: shown(configFile),
      freshState: fresh,
      auditShown: logger.isLevelEnabled('info'),
      command: options.command,
    }),
  );

  return {
    idpIssuer: idp.issuer,
    dataPlaneUrl: sidecar.dataPlaneUrl,
    adminUrl: sidecar.adminUrl,
    upstreamUrl: upstream.url,
    async stop() {
      await sidecar.shutdown();
      await Promise.all([upstream.stop(), idp.stop()]);
      await new Promise((resolve) => events.end(resolve));
    },
  };
}

/** A path as a person would type it here: relative to the working directory when it is under it. */
function shown(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith('..') || isAbsolute(fromHere) ? path : fromHere || '.';
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
  stateDir: string;
  configFile: string;
  freshState: boolean;
  /** Whether successful validations are logged (log level info or finer). */
  auditShown: boolean;
  command: string;
}

function tokenCommand(variable: string, tokenEndpoint: string, client: DemoClient): string {
  return (
    `${variable}=$(curl -s -u '${client.clientId}:${client.clientSecret}' -d grant_type=client_credentials ` +
    `-d scope='${client.scopes.join(' ')}' ${tokenEndpoint} | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`
  );
}

function banner(facts: BannerFacts): string {
  const api = `${facts.sidecar}/api/orders/42`;
  const kept = facts.freshState ? 'new signing key and client secrets, kept there for the next runs' : 'signing key and client secrets of earlier runs';
  const audit = facts.auditShown
    ? 'JSON lines below: one token_validated event per validation (--log-level warn keeps only failures)'
    : 'successful validations are not shown at this --log-level (info shows one token_validated event per validation)';
  return `
tokenwatch dev stack is up (Ctrl-C stops everything)
  identity provider  ${facts.idpIssuer}  (oidc-provider, client_credentials, JWT access tokens)
  tokenwatch         ${facts.sidecar}  (${facts.mode === 'proxy' ? `reverse proxy in front of ${facts.upstream}` : 'forward-auth: every path is the check'})
  admin              ${facts.admin}/readyz  ${facts.admin}/metrics
  demo upstream      ${facts.upstream}  (echoes the headers it receives)
  state              ${facts.stateDir}/  (${kept}; --reset makes new ones)
  configuration      ${facts.configFile}  (what tokenwatch runs with)
  audit log          ${audit}

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

  # why the 403: every check of the token, the route GET /api/orders/42 matches and the scopes the token lacks
  ${facts.command} inspect-token --config ${facts.configFile} --method GET --path /api/orders/42 "$OTHER"

  # readiness (keys loaded per issuer) and metrics
  curl -s ${facts.admin}/readyz
  curl -s ${facts.admin}/metrics | grep -E '^(token_validation_total|token_issuance_total)'
`;
}
