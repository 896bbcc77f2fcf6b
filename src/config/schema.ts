import { z } from 'zod';
import { DEFAULT_ALGORITHMS, SUPPORTED_ALGORITHMS } from './algorithms.js';
import { anomalySchema } from './anomaly.js';
import { idpEventSourcesSchema } from './idp-events.js';
import { duration, listenAddress } from './types.js';

/**
 * The whole configuration: every key, its default and its constraints, in one place.
 * docs/configuration.md documents each key; keep the two in step.
 */

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const ROUTE_PATH = /^\/(?:[^\s?#]*)$/;
const HTTP_METHOD = /^[A-Z]+$/;

const enforcement = z.enum(['enforce', 'report-only']);

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const httpUrl = z.string().refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), {
  message: 'expected an absolute http(s) URL',
});

const INSECURE_MESSAGE = 'must be https (http is accepted only on loopback addresses or with allowInsecureHttp: true)';

export const issuerSchema = z.strictObject({
  issuer: httpUrl,
  jwksUri: httpUrl.optional(),
  audiences: z.array(z.string().min(1)).min(1, 'at least one audience is required'),
  algorithms: z
    .array(z.enum(SUPPORTED_ALGORITHMS, { message: `expected one of ${SUPPORTED_ALGORITHMS.join(', ')} (HS* and none are never accepted)` }))
    .min(1)
    .default([...DEFAULT_ALGORITHMS]),
  clockTolerance: duration('30s'),
  maxTokenLifetime: duration('24h'),
  requireTyp: z.string().min(1).optional(),
  requiredClaims: z.array(z.string().min(1)).default([]),
  jwksCacheMaxAge: duration('10m'),
  jwksCooldown: duration('30s'),
  jwksMaxStale: duration('24h'),
  fetchTimeout: duration('5s'),
  allowInsecureHttp: z.boolean().default(false),
})
  .refine((issuer) => secureOrAllowed(issuer.issuer, issuer.allowInsecureHttp), {
    path: ['issuer'],
    message: INSECURE_MESSAGE,
    when: (payload) => parsableUrl((payload.value as { issuer?: unknown } | undefined)?.issuer),
  })
  .refine((issuer) => issuer.jwksUri === undefined || secureOrAllowed(issuer.jwksUri, issuer.allowInsecureHttp), {
    path: ['jwksUri'],
    message: INSECURE_MESSAGE,
    when: (payload) => parsableUrl((payload.value as { jwksUri?: unknown } | undefined)?.jwksUri),
  });

function parsableUrl(value: unknown): boolean {
  return typeof value === 'string' && URL.canParse(value);
}

/** https always; http only on loopback or when the operator opted in (the value may be unvalidated here). */
function secureOrAllowed(url: string, allowInsecureHttp: unknown): boolean {
  return allowInsecureHttp === true || new URL(url).protocol === 'https:' || isLoopbackUrl(url);
}

export const routeSchema = z.strictObject({
  path: z
    .string()
    .regex(ROUTE_PATH, 'expected an absolute path such as /api/orders/** (no query, no spaces)')
    .refine((path) => path.split('/').every((segment) => !segment.includes('*') || segment === '*' || segment === '**'), {
      message: '* and ** must stand alone as a whole segment',
    }),
  methods: z.array(z.string().regex(HTTP_METHOD, 'expected an upper-case HTTP method such as GET')).min(1).optional(),
  public: z.boolean().default(false),
  deny: z.boolean().default(false),
  scopes: z.array(z.string().min(1)).default([]),
  enforcement: enforcement.optional(),
}).refine((route) => !route.public || (!route.deny && route.scopes.length === 0), {
  message: 'a public route can have neither scopes nor deny',
});

export const configSchema = z
  .strictObject({
    mode: z.enum(['authz', 'proxy', 'events']).default('authz'),
    listen: listenAddress('0.0.0.0:8080'),
    admin: listenAddress('0.0.0.0:9464'),
    realm: z.string().regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,100}$/, 'printable ASCII without quotes or backslashes').default('tokenwatch'),
    issuers: z.array(issuerSchema).default([]),
    routes: z.array(routeSchema).default([]),
    defaultRoute: z.enum(['authenticate', 'deny']).default('authenticate'),
    claimHeaders: z
      .record(z.string().min(1), z.string().regex(HEADER_NAME, 'expected a lower-case HTTP header name'))
      .default({ sub: 'x-auth-subject', client_id: 'x-auth-client-id', scope: 'x-auth-scopes' }),
    tokenCache: z.strictObject({ maxEntries: z.number().int().min(0).max(1_000_000).default(10_000) }).default({ maxEntries: 10_000 }),
    enforcement: enforcement.default('enforce'),
    allowQueryToken: z.boolean().default(false),
    limits: z
      .strictObject({
        tokenBytes: z.number().int().min(256).max(65_536).default(8192),
        headerBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
        bodyBytes: z.number().int().min(0).max(10 * 1024 * 1024 * 1024).default(10_485_760),
        connections: z.number().int().min(1).max(1_000_000).default(1024),
        upstreamConnections: z.number().int().min(1).max(65_536).default(256),
      })
      .default({ tokenBytes: 8192, headerBytes: 16_384, bodyBytes: 10_485_760, connections: 1024, upstreamConnections: 256 }),
    upstream: httpUrl.optional(),
    upstreamTimeout: duration('30s'),
    forwardToken: z.boolean().default(true),
    authz: z
      .strictObject({
        pathPrefix: z.string().regex(/^(?:\/[^\s?#]*[^/\s?#])?$/, 'expected empty or a path such as /authz (no trailing slash)').default(''),
        requestSource: z.enum(['auto', 'x-forwarded', 'x-original', 'request-line']).default('auto'),
      })
      .default({ pathPrefix: '', requestSource: 'auto' }),
    idpEvents: idpEventSourcesSchema.default([]),
    anomaly: anomalySchema.prefault({}),
    metrics: z.strictObject({ clientIdTopN: z.number().int().min(1).max(1000).default(50) }).default({ clientIdTopN: 50 }),
    auditLog: z
      .strictObject({ successSampleRate: z.number().min(0).max(1).default(1) })
      .default({ successSampleRate: 1 }),
    shutdownTimeout: duration('15s'),
    logLevel: z.enum(LOG_LEVELS).default('info'),
  })
  .superRefine((config, ctx) => {
    if (config.mode !== 'events' && config.issuers.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['issuers'], message: `at least one issuer is required in ${config.mode} mode` });
    }
    if (config.mode === 'events' && config.idpEvents.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['idpEvents'], message: 'at least one event log is required in events mode' });
    }
    if (config.mode === 'proxy' && !config.upstream) {
      ctx.addIssue({ code: 'custom', path: ['upstream'], message: 'required in proxy mode (the app, e.g. http://127.0.0.1:3000)' });
    }
    if (config.upstream && !/^\/?$/.test(new URL(config.upstream).pathname + new URL(config.upstream).search)) {
      ctx.addIssue({ code: 'custom', path: ['upstream'], message: 'only the origin (scheme, host, port) is used: remove the path and query' });
    }
    if (config.authz.pathPrefix !== '' && (config.authz.requestSource === 'x-forwarded' || config.authz.requestSource === 'x-original')) {
      ctx.addIssue({ code: 'custom', path: ['authz', 'pathPrefix'], message: `is used only with requestSource request-line or auto, not ${config.authz.requestSource}` });
    }
    config.issuers.forEach((issuer, index) => {
      const seen = config.issuers.findIndex((other) => other.issuer === issuer.issuer);
      if (seen !== index) {
        ctx.addIssue({ code: 'custom', path: ['issuers', index, 'issuer'], message: `duplicates issuers[${seen}]` });
      }
    });
    const headerNames = Object.values(config.claimHeaders);
    headerNames.forEach((name, index) => {
      if (headerNames.indexOf(name) !== index) {
        ctx.addIssue({ code: 'custom', path: ['claimHeaders'], message: `header ${name} is mapped from two claims` });
      }
    });
  });

export type Config = z.output<typeof configSchema>;
export type IssuerConfig = z.output<typeof issuerSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type Enforcement = z.output<typeof enforcement>;

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

export function isLoopbackUrl(text: string): boolean {
  const host = new URL(text).hostname;
  return LOOPBACK_HOSTS.has(host) || /^127(?:\.\d{1,3}){3}$/.test(host);
}
