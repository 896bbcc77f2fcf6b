import { describe, expect, test } from 'vitest';
import { DASHBOARDS } from '../../monitoring/dashboards/files.js';
import { buildDashboard, DASHBOARD_TAG } from '../../monitoring/dashboards/build.js';
import { alertGroups } from '../../monitoring/rules/alerts.js';
import type { AlertingRule } from '../../monitoring/rules/types.js';
import { METRICS } from '../../src/observability/catalog/metrics.js';

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
  exemplar?: boolean;
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Target[];
  links?: Array<{ url?: string }>;
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  tags: string[];
  panels: Panel[];
  links: Array<{ type: string; tags?: string[]; url?: string }>;
  templating: { list: Array<{ name: string; type: string; query?: unknown; label?: string; datasource?: { uid?: string } }> };
  annotations: { list: Array<{ name: string; expr?: string; filter?: { ids: number[] } }> };
}

const dashboards = DASHBOARDS.map((spec) => buildDashboard(spec) as unknown as Dashboard);
const panelsOf = (dashboard: Dashboard) => dashboard.panels.filter((panel) => panel.type !== 'row');
const exprsOf = (dashboard: Dashboard) => panelsOf(dashboard).flatMap((panel) => (panel.targets ?? []).map((target) => target.expr!));

/** Panel types that ship with Grafana 11 and 12 (no plugin needed). */
const CORE_PANEL_TYPES = new Set(['row', 'timeseries', 'stat', 'bargauge', 'gauge', 'table', 'heatmap', 'text', 'piechart', 'histogram']);
/** Unit ids of Grafana's value formats (packages/grafana-data/src/valueFormats/categories.ts) these dashboards may use. */
const GRAFANA_UNITS = new Set(['percentunit', 'percent', 's', 'ms', 'reqps', 'ops', 'cps', 'short', 'none', 'bytes', 'bool_yes_no']);
/** Sample names that are counters: the catalogue's counters and every histogram's _bucket, _count and _sum. */
const COUNTER_SAMPLES = new Set(
  Object.values(METRICS).flatMap((metric) =>
    metric.type === 'counter' ? [metric.name] : metric.type === 'histogram' ? ['bucket', 'count', 'sum'].map((part) => `${metric.name}_${part}`) : [],
  ),
);

describe('the Grafana dashboards', () => {
  test('have the schema version of the SDK (Grafana 12) and only core panel types of Grafana 11 and 12', () => {
    for (const dashboard of dashboards) {
      expect(dashboard.schemaVersion, dashboard.uid).toBe(42);
      for (const panel of dashboard.panels) expect(CORE_PANEL_TYPES, `${dashboard.uid}: ${panel.type}`).toContain(panel.type);
    }
  });

  test('have stable, unique uids short enough for Grafana (40 characters), each tagged for the shared links', () => {
    const uids = dashboards.map((dashboard) => dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const dashboard of dashboards) {
      expect(dashboard.uid).toMatch(/^tokenwatch-[a-z-]+$/);
      expect(dashboard.uid.length).toBeLessThanOrEqual(40);
      expect(dashboard.tags).toContain(DASHBOARD_TAG);
    }
  });

  test('give every panel an id unique in its dashboard, and every query a refId unique in its panel', () => {
    for (const dashboard of dashboards) {
      const ids = dashboard.panels.map((panel) => panel.id);
      expect(ids.every((id) => Number.isInteger(id))).toBe(true);
      expect(new Set(ids).size, dashboard.uid).toBe(ids.length);
      for (const panel of panelsOf(dashboard)) {
        const refIds = (panel.targets ?? []).map((target) => target.refId);
        expect(refIds.length, panel.title).toBeGreaterThan(0);
        expect(refIds.every((refId) => typeof refId === 'string' && refId.length > 0)).toBe(true);
        expect(new Set(refIds).size, panel.title).toBe(refIds.length);
      }
    }
  });

  test('give every panel a description, a Grafana unit (panel-units) and the templated data source on it and its queries', () => {
    for (const dashboard of dashboards) {
      for (const panel of panelsOf(dashboard)) {
        expect(panel.description?.length, panel.title).toBeGreaterThan(20);
        expect(GRAFANA_UNITS, `${panel.title}: ${panel.fieldConfig?.defaults?.unit}`).toContain(panel.fieldConfig?.defaults?.unit);
        expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
        for (const target of panel.targets ?? []) expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      }
    }
  });

  test('have a Prometheus data source variable named datasource (template-datasource) and namespace, pod, issuer and client_id variables on it', () => {
    for (const dashboard of dashboards) {
      const variables = dashboard.templating.list;
      expect(variables.map((variable) => variable.name)).toEqual(['datasource', 'namespace', 'pod', 'issuer', 'client_id']);
      expect(variables[0]).toMatchObject({ type: 'datasource', query: 'prometheus', label: 'Data source' });
      for (const variable of variables.slice(1)) expect(variable).toMatchObject({ type: 'query', datasource: { uid: '${datasource}' } });
    }
  });

  test('use $__rate_interval in every rate, irate and increase (target-rate-interval)', () => {
    for (const dashboard of dashboards) {
      for (const expr of exprsOf(dashboard)) {
        for (const match of expr.matchAll(/\b(?:rate|irate|increase|delta|deriv)\((.*?)\[([^\]]+)\]/g)) expect(match[2], expr).toBe('$__rate_interval');
      }
    }
  });

  test('plot no raw counter: every counter sample sits inside rate() (target-counter-agg)', () => {
    for (const dashboard of dashboards) {
      for (const expr of exprsOf(dashboard)) {
        for (const match of expr.matchAll(/([a-z_:]+)\{/g)) {
          if (!COUNTER_SAMPLES.has(match[1]!)) continue;
          expect(expr.slice(0, match.index).endsWith('rate('), `${match[1]} in ${expr}`).toBe(true);
        }
      }
    }
  });

  test('link to each other by tag and to the runbook; panels link to the runbook sections of their alerts', () => {
    for (const dashboard of dashboards) {
      expect(dashboard.links).toContainEqual(expect.objectContaining({ type: 'dashboards', tags: [DASHBOARD_TAG] }));
      expect(dashboard.links).toContainEqual(expect.objectContaining({ type: 'link', url: expect.stringMatching(/docs\/runbook\.md$/) }));
      for (const panel of panelsOf(dashboard)) for (const link of panel.links ?? []) expect(link.url).toMatch(/docs\/runbook\.md#[a-z]+$/);
    }
  });

  test('draw the firing periods of existing alerts on the panels that concern them', () => {
    const alertNames = new Set(alertGroups().flatMap((group) => (group.rules as AlertingRule[]).map((rule) => rule.alert)));
    const annotated = new Set<string>();
    for (const dashboard of dashboards) {
      const ids = new Set(dashboard.panels.map((panel) => panel.id));
      for (const annotation of dashboard.annotations.list) {
        const alert = /alertname="([A-Za-z]+)"/.exec(annotation.expr ?? '')?.[1];
        expect(alertNames, annotation.name).toContain(alert);
        annotated.add(alert!);
        expect(annotation.filter!.ids.length).toBeGreaterThan(0);
        for (const id of annotation.filter!.ids) expect(ids.has(id), `${dashboard.uid} panel ${id}`).toBe(true);
      }
    }
    expect([...annotated].sort()).toEqual([...alertNames].sort());
  });

  test('every panel plotting the validation latency histogram or the failure counter asks for exemplars on exactly one query', () => {
    const carriesExemplars = (expr: string) =>
      expr.includes(`${METRICS.tokenValidationDuration.name}_bucket`) || new RegExp(`\\b${METRICS.tokenValidationFailure.name}\\b`).test(expr);
    const panels = dashboards.flatMap((dashboard) => panelsOf(dashboard).map((panel) => ({ uid: dashboard.uid, panel })));
    const withExemplars = panels.filter(({ panel }) => (panel.targets ?? []).some((target) => carriesExemplars(target.expr!)));
    expect(withExemplars.length).toBeGreaterThanOrEqual(4);
    for (const { uid, panel } of withExemplars) {
      const asking = (panel.targets ?? []).filter((target) => target.exemplar === true);
      expect(asking.length, `${uid}: ${panel.title}`).toBe(1);
      expect(carriesExemplars(asking[0]!.expr!), `${uid}: ${panel.title}`).toBe(true);
    }
    const asked = panels.flatMap(({ panel }) => (panel.targets ?? []).filter((target) => target.exemplar === true).map((target) => target.expr!));
    expect(asked.filter((expr) => !carriesExemplars(expr)), 'exemplars asked of a metric that carries none').toEqual([]);
  });

  test('the Token Lifecycle dashboard shows logouts and revocations as rates per issuer', () => {
    const lifecycle = dashboards.find((dashboard) => dashboard.uid === 'tokenwatch-token-lifecycle')!;
    const panel = panelsOf(lifecycle).find((candidate) => candidate.title === 'Logouts and revocations')!;
    expect(panel.fieldConfig?.defaults?.unit).toBe('cps');
    const exprs = (panel.targets ?? []).map((target) => target.expr!);
    expect(exprs).toHaveLength(2);
    expect(exprs[0]).toMatch(new RegExp(`^sum by \\(issuer\\) \\(rate\\(${METRICS.oauthLogouts.name}\\{.*\\}\\[\\$__rate_interval\\]\\)\\)$`));
    expect(exprs[1]).toMatch(new RegExp(`^sum by \\(issuer\\) \\(rate\\(${METRICS.oauthTokenRevocations.name}\\{.*\\}\\[\\$__rate_interval\\]\\)\\)$`));
  });
});
