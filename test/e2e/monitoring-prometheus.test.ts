import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DASHBOARDS } from '../../monitoring/dashboards/files.js';
import { buildDashboard } from '../../monitoring/dashboards/build.js';
import { generatedFiles } from '../../monitoring/generate.js';
import { alertGroups } from '../../monitoring/rules/alerts.js';
import { recordingGroups } from '../../monitoring/rules/recording.js';
import { startDemoUpstream, type DemoUpstream } from '../../src/dev/demo-upstream.js';
import { startEmbeddedIdp, type EmbeddedIdp } from '../../src/dev/embedded-idp.js';
import { eventually } from '../support/eventually.js';
import { requestPerFailureReason } from '../support/failing-requests.js';
import { useJwksServer } from '../support/jwks-server.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { recordIssuedToken } from '../support/secret-audit.js';
import { bearer, startTestSidecar, type TestSidecar } from '../support/sidecar.js';

/**
 * The shipped rules and dashboards against a real Prometheus: two tokenwatch replicas (one proxy, one forward-auth)
 * fed by a real oidc-provider, a real upstream and an IdP event log, scraped every second.
 */
const ROOT = new URL('../..', import.meta.url).pathname;
const RULE_FILES = [...generatedFiles().keys()].filter((path) => path.startsWith('alerts/')).map((path) => join(ROOT, path));
/** What Grafana puts in place of the dashboards' variables when "All" is selected, and a rate window of a few scrapes. */
const VARIABLES: ReadonlyArray<[RegExp, string]> = [
  [/\$(namespace|pod|issuer|client_id)\b/g, '.*'],
  [/\$__rate_interval/g, '10s'],
];

// A controllable issuer for the failure reasons a real IdP will not sign (expired, wrong audience...), and one whose
// keys never load (jwks_unavailable).
const forger = useJwksServer();
const keyless = useJwksServer();

let dir: string;
let eventLog: string;
let idp: EmbeddedIdp;
let idpPort: number;
let upstream: DemoUpstream;
const replicas: TestSidecar[] = [];
let prometheus: RunningPrometheus;

async function realToken(client: 'orders' | 'reporting'): Promise<string> {
  const token = await idp.getToken(idp.clients[client]);
  recordIssuedToken(token);
  return token;
}

beforeAll(async () => {
  keyless().setMode('down');
  dir = mkdtempSync(join(tmpdir(), 'tokenwatch-e2e-'));
  eventLog = join(dir, 'idp-events.jsonl');
  writeFileSync(eventLog, '');
  idp = await startEmbeddedIdp();
  idpPort = Number(new URL(idp.issuer).port);
  upstream = await startDemoUpstream();
  const common = {
    issuers: [
      // Keys are refreshed every 4 s, so an IdP that stops answering shows within seconds.
      { issuer: idp.issuer, audiences: ['orders-api'], jwksCacheMaxAge: '5s', jwksCooldown: '1s' },
      { issuer: forger().issuer, audiences: ['orders-api'], jwksCooldown: '1s' },
      { issuer: keyless().issuer, audiences: ['orders-api'] },
    ],
    routes: [{ path: '/api/orders/**', scopes: ['read:orders'] }],
    idpEvents: [{ path: eventLog, format: 'jsonl', issuer: idp.issuer, fromBeginning: true }],
  };
  replicas.push(await startTestSidecar({ ...common, mode: 'proxy', upstream: upstream.url }));
  replicas.push(await startTestSidecar({ ...common, mode: 'authz' }));
  prometheus = await startPrometheus({
    intervalSeconds: 1,
    ruleFiles: RULE_FILES,
    targets: replicas.map((replica, index) => ({
      address: new URL(replica.adminUrl).host,
      labels: { namespace: 'e2e', pod: `tokenwatch-${index}` },
    })),
  });
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  for (const replica of replicas) await replica.shutdown();
  await upstream?.stop();
  await idp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** Valid tokens, every failure reason, and the IdP's issuance, error, logout and revocation lines. */
async function driveTraffic(): Promise<void> {
  const valid = await realToken('orders');
  const tooNarrow = await realToken('reporting');
  const failures = await requestPerFailureReason(forger(), keyless().issuer);
  for (const replica of replicas) {
    for (let round = 0; round < 5; round += 1) expect((await replica.request('/api/orders/1', bearer(valid))).status).toBe(200);
    expect((await replica.request('/api/orders/1', bearer(tooNarrow))).status).toBe(403);
    for (const [reason, init] of failures) expect((await replica.request('/api/orders/1', init)).status, reason).toBeGreaterThanOrEqual(400);
  }
  const line = (fields: Record<string, unknown>) => `${JSON.stringify({ time: Date.now(), ...fields })}\n`;
  appendFileSync(
    eventLog,
    [
      ...Array.from({ length: 5 }, (_, index) => line({ event: 'token_issued', client_id: 'billing', grant_type: 'client_credentials', session_id: `s-${index}` })),
      line({ event: 'token_issued', client_id: 'web', grant_type: 'authorization_code', session_id: 's-web' }),
      line({ event: 'token_issued', client_id: 'web', grant_type: 'refresh_token', session_id: 's-web' }),
      line({ event: 'oauth_error', client_id: 'web', grant_type: 'refresh_token', error: 'invalid_grant' }),
      line({ event: 'logout', client_id: 'web', session_id: 's-web' }),
      line({ event: 'revocation', client_id: 'web', token_type: 'refresh_token' }),
    ].join(''),
  );
}

/** Every query of every panel, with the variables substituted as Grafana would. */
function panelQueries(): Array<{ where: string; expr: string }> {
  return DASHBOARDS.flatMap((spec) => {
    const dashboard = buildDashboard(spec) as unknown as { panels: Array<{ title?: string; targets?: Array<{ refId: string; expr: string }> }> };
    return dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({
        where: `${spec.uid} / ${panel.title} / ${target.refId}`,
        expr: VARIABLES.reduce((expr, [pattern, value]) => expr.replace(pattern, value), target.expr),
      })),
    );
  });
}

/** Every template variable query (label_values(selector, label)) of every dashboard. */
function variableQueries(): Array<{ where: string; label: string; selector: string }> {
  return DASHBOARDS.flatMap((spec) => {
    const dashboard = buildDashboard(spec) as unknown as { templating: { list: Array<{ name: string; query?: unknown }> } };
    return dashboard.templating.list.flatMap((variable) => {
      const match = typeof variable.query === 'string' ? /^label_values\((.*), (\w+)\)$/.exec(variable.query) : null;
      if (!match) return [];
      const selector = VARIABLES.reduce((expr, [pattern, value]) => expr.replace(pattern, value), match[1]!);
      return [{ where: `${spec.uid} / $${variable.name}`, label: match[2]!, selector }];
    });
  });
}

describe('the shipped rules and dashboards against a real Prometheus', () => {
  test('every dashboard panel query, variables substituted, returns data and no error', async () => {
    await driveTraffic();
    const queries = panelQueries();
    expect(queries.length).toBeGreaterThan(40);
    await eventually(
      async () => {
        const empty: string[] = [];
        for (const { where, expr } of queries) if ((await prometheus.query(expr)).length === 0) empty.push(`${where}: ${expr}`);
        if (empty.length > 0) throw new Error(`no data for:\n${empty.join('\n')}`);
        return true;
      },
      45_000,
      1000,
    );
  }, 90_000);

  test('every dashboard variable query finds values', async () => {
    for (const { where, label, selector } of variableQueries()) expect(await prometheus.labelValues(label, selector), where).not.toEqual([]);
  });

  test('every alert and recording rule of the shipped files evaluates without error', async () => {
    const expected = [...recordingGroups(), ...alertGroups()].reduce((count, group) => count + group.rules.length, 0);
    const rules = await eventually(async () => {
      const loaded = await prometheus.rules();
      return loaded.every((rule) => rule.health === 'ok') && loaded;
    }, 20_000, 500);
    expect(rules).toHaveLength(expected);
    for (const rule of rules) expect(rule.lastError ?? '', rule.name).toBe('');
  }, 30_000);

  test('AuthorizationServerDown is pending for the issuer within 30 s of the IdP stopping, and gone once it is back', async () => {
    const down = async () =>
      (await prometheus.alerts()).filter((alert) => alert.labels.alertname === 'AuthorizationServerDown' && alert.labels.issuer === idp.issuer);
    expect(await down()).toEqual([]);
    await idp.stop();
    const pending = await eventually(async () => {
      const alerts = await down();
      return alerts.length > 0 && alerts;
    }, 30_000, 500);
    expect(pending).toEqual([expect.objectContaining({ state: 'pending', labels: expect.objectContaining({ severity: 'critical', namespace: 'e2e' }) })]);
    idp = await startEmbeddedIdp({ port: idpPort });
    await eventually(async () => (await down()).length === 0, 45_000, 500);
  }, 90_000);
});
