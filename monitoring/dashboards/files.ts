import { stringify } from 'yaml';
import { GENERATED_HEADER } from '../rules/files.js';
import { buildDashboard, DASHBOARD_TAG, type DashboardSpec } from './build.js';
import { authorizationServer } from './authorization-server.js';
import { clientActivity } from './client-activity.js';
import { oauthHealth } from './oauth-health.js';
import { tokenLifecycle } from './token-lifecycle.js';
import { tokenwatchSelf } from './tokenwatch.js';

export const DASHBOARDS: readonly DashboardSpec[] = [oauthHealth, tokenLifecycle, clientActivity, authorizationServer, tokenwatchSelf];

/** Grafana's file provisioning: the JSON files next to it, in a `tokenwatch` folder. */
function provisioning(): string {
  const provider = {
    name: DASHBOARD_TAG,
    folder: 'tokenwatch',
    type: 'file',
    disableDeletion: false,
    allowUiUpdates: false,
    updateIntervalSeconds: 60,
    options: { path: '/var/lib/grafana/dashboards/tokenwatch', foldersFromFilesStructure: false },
  };
  return GENERATED_HEADER + stringify({ apiVersion: 1, providers: [provider] }, { lineWidth: 0 });
}

/** The files under dashboards/, by file name. */
export function dashboardFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const spec of DASHBOARDS) files.set(`${spec.uid}.json`, `${JSON.stringify(buildDashboard(spec), null, 2)}\n`);
  files.set('provisioning/tokenwatch.yaml', provisioning());
  return files;
}
