import {
  AnnotationPanelFilterBuilder,
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { LegendDisplayMode, LegendPlacement, VizLegendOptionsBuilder, type DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { METRICS } from '../../src/observability/catalog/metrics.js';
import { CONFIG } from '../config.js';
import { runbookUrl } from '../rules/alerts.js';

/** Every panel and variable queries the data source the dashboard user picks. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
/** The tag the dashboards share: their links list each other by it. */
export const DASHBOARD_TAG = 'tokenwatch';
const REFRESH = '30s';

export interface Query {
  readonly expr: string;
  readonly legend: string;
  /** Ask for exemplars: the trace ids tokenwatch attaches when tracing is on link the panel to the trace. */
  readonly exemplar?: boolean;
}

export interface PanelSpec {
  readonly kind: 'timeseries' | 'stat' | 'bargauge';
  readonly title: string;
  readonly description: string;
  /** A Grafana unit id. */
  readonly unit: string;
  readonly queries: readonly Query[];
  /** Alerts about what this panel shows: their firing periods are drawn on it and its links lead to their runbook. */
  readonly alerts?: readonly string[];
  readonly width?: number;
  readonly max?: number;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly rows: ReadonlyArray<{ readonly title: string; readonly panels: readonly PanelSpec[] }>;
}

/** Label matchers that narrow a selector to the dashboard's variables. */
export const FILTER = {
  namespace: 'namespace=~"$namespace"',
  pod: 'pod=~"$pod"',
  issuer: 'issuer=~"$issuer"',
  clientId: 'client_id=~"$client_id"',
} as const;

function variables() {
  const buildInfo = `${METRICS.buildInfo.name}{${CONFIG.selector}}`;
  const query = (name: string, label: string, source: string) =>
    new QueryVariableBuilder(name)
      .label(label)
      .datasource(DATASOURCE)
      .query(source)
      .definition(source)
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      .allValue('.*');
  const issuerSources = [METRICS.idpUp.name, METRICS.tokenIssuance.name].join('|');
  return [
    new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'),
    query('namespace', 'Namespace', `label_values(${buildInfo}, namespace)`),
    query('pod', 'Pod', `label_values(${METRICS.buildInfo.name}{${CONFIG.selector}, ${FILTER.namespace}}, pod)`),
    query('issuer', 'Issuer', `label_values({__name__=~"${issuerSources}", ${CONFIG.selector}, ${FILTER.namespace}}, issuer)`),
    query('client_id', 'Client', `label_values(${METRICS.tokenIssuance.name}{${CONFIG.selector}, ${FILTER.namespace}, ${FILTER.issuer}}, client_id)`),
  ];
}

function panelBuilder(spec: PanelSpec, id: number) {
  const targets = spec.queries.map((query, index) => {
    const target = new DataqueryBuilder().refId(String.fromCharCode(65 + index)).datasource(DATASOURCE).expr(query.expr).legendFormat(query.legend);
    if (spec.kind !== 'timeseries') target.instant();
    if (query.exemplar) target.exemplar(true);
    return target;
  });
  const links = (spec.alerts ?? []).map((name) => new DashboardLinkBuilder(`Runbook: ${name}`).type(DashboardLinkType.Link).url(runbookUrl(name)).targetBlank(true));
  const common = <B extends TimeseriesPanel | StatPanel | BarGaugePanel>(builder: B): B => {
    builder.id(id).title(spec.title).description(spec.description).unit(spec.unit).datasource(DATASOURCE).targets(targets).span(spec.width ?? 12).height(8);
    if (links.length > 0) builder.links(links);
    if (spec.max !== undefined) builder.max(spec.max);
    return builder;
  };
  if (spec.kind === 'stat') return common(new StatPanel());
  if (spec.kind === 'bargauge') return common(new BarGaugePanel());
  return common(new TimeseriesPanel()).legend(
    new VizLegendOptionsBuilder().displayMode(LegendDisplayMode.Table).placement(LegendPlacement.Bottom).showLegend(true).calcs(['lastNotNull', 'max']),
  );
}

/** One annotation per alert, drawn on the panels that name it (panel ids filter). */
function alertAnnotations(panelsByAlert: ReadonlyMap<string, number[]>) {
  return [...panelsByAlert].map(([alert, ids]) =>
    new AnnotationQueryBuilder()
      .name(`${alert} alerts`)
      .datasource(DATASOURCE)
      .enable(true)
      .iconColor('red')
      .expr(`ALERTS{alertname="${alert}", alertstate="firing", ${FILTER.namespace}}`)
      .step('60s')
      .titleFormat(`{{alertname}} ({{severity}})`)
      .tagKeys('severity,issuer,namespace')
      .filter(new AnnotationPanelFilterBuilder().ids(ids)),
  );
}

export function buildDashboard(spec: DashboardSpec): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([DASHBOARD_TAG])
    .readonly()
    .refresh(REFRESH)
    .time({ from: 'now-3h', to: 'now' })
    .timezone('browser')
    .variables(variables())
    .links([
      new DashboardLinkBuilder('tokenwatch dashboards').type(DashboardLinkType.Dashboards).tags([DASHBOARD_TAG]).asDropdown(true).includeVars(true).keepTime(true),
      new DashboardLinkBuilder('Runbook').type(DashboardLinkType.Link).url(CONFIG.runbookUrl).icon('doc').targetBlank(true),
    ]);
  const panelsByAlert = new Map<string, number[]>();
  let id = 0;
  for (const row of spec.rows) {
    id += 1;
    builder.withRow(new RowBuilder(row.title).id(id));
    for (const panel of row.panels) {
      id += 1;
      for (const alert of panel.alerts ?? []) panelsByAlert.set(alert, [...(panelsByAlert.get(alert) ?? []), id]);
      builder.withPanel(panelBuilder(panel, id));
    }
  }
  builder.annotations(alertAnnotations(panelsByAlert));
  return builder.build();
}
