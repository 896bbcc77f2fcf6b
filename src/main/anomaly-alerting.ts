import { hostname } from 'node:os';
import { AlertNotifier, type AlertContent } from '../alerting/index.js';
import type { Config } from '../config/schema.js';
import { ALERT_NAMES, createDetection, type Anomaly, type Detection } from '../detection/index.js';
import type { Logger } from '../logging/logger.js';
import type { ValidationMetrics } from '../observability/metrics/validation-metrics.js';

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export interface AnomalyAlerting {
  readonly detection: Detection;
  /** Starts detecting and notifying once the admin listener's URL (the alerts' generatorURL) is known. */
  start(adminUrl: string): void;
  stop(): Promise<void>;
}

/**
 * The detectors wired to the Alertmanager notifier: each anomaly becomes an alert labelled with the fleet labels
 * (`namespace`, `pod` from the downward API), so replicas never overwrite each other's alerts.
 */
export function buildAnomalyAlerting(config: Config, deps: { env: NodeJS.ProcessEnv; logger: Logger; metrics: ValidationMetrics }): AnomalyAlerting | undefined {
  const anomaly = config.anomaly;
  if (!anomaly.enabled) return undefined;
  const logger = deps.logger.child({ component: 'anomaly' });
  const fleetLabels = expandLabels(anomaly.labels, deps.env, logger);
  let notifier: AlertNotifier | undefined;
  const detection = createDetection(
    anomaly,
    { validationIssuers: config.issuers.map((issuer) => issuer.issuer), eventIssuers: [...new Set(config.idpEvents.map((source) => source.issuer))] },
    {
      firing(found) {
        if (!notifier!.isFiring(found.key)) logger.warn({ event: 'anomaly_firing', alertname: ALERT_NAMES[found.detector], ...found.labels, score: found.score }, found.summary);
        notifier!.firing(found.key, alertContent(found, fleetLabels, anomaly.runbookUrl), found.startsAtMs);
      },
      resolved(found, atMs) {
        logger.info({ event: 'anomaly_resolved', alertname: ALERT_NAMES[found.detector], ...found.labels }, `resolved: ${found.summary}`);
        notifier!.resolved(found.key, atMs);
      },
    },
  );
  return {
    detection,
    start(adminUrl) {
      notifier = new AlertNotifier({
        urls: anomaly.alertmanager.urls,
        resendIntervalMs: anomaly.alertmanager.resendInterval,
        timeoutMs: anomaly.alertmanager.timeout,
        queue: anomaly.alertmanager.queue,
        generatorURL: `${anomaly.externalUrl ?? reachableUrl(adminUrl)}/metrics`,
        logger: deps.logger,
      });
      const started = notifier;
      deps.metrics.watchAnomalyDetection({
        detectors: () => detection.engine.status(),
        notifications: () => started.notifications(),
        queueLength: () => started.queueLength(),
      });
      notifier.start();
      detection.engine.start();
    },
    async stop() {
      detection.engine.stop();
      await notifier?.stop();
    },
  };
}

function alertContent(found: Anomaly, fleetLabels: Readonly<Record<string, string>>, runbookUrl: string): AlertContent {
  const alertname = ALERT_NAMES[found.detector];
  return {
    labels: { ...fleetLabels, ...found.labels, alertname, severity: found.severity },
    annotations: {
      summary: found.summary,
      description: found.description,
      runbook_url: `${runbookUrl}#${alertname.toLowerCase()}`,
      observed: found.observed,
      baseline: found.baseline,
      score: found.score.toFixed(1),
    },
  };
}

/**
 * `${NAME}` references replaced from the environment. A label left empty is left out, and said: without `pod`,
 * the alerts of several replicas would share one identity and their resolves would make it flap.
 */
function expandLabels(labels: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv, logger: Logger): Record<string, string> {
  const expanded: Record<string, string> = {};
  for (const [name, template] of Object.entries(labels)) {
    const value = template.replace(ENV_REFERENCE, (_match, variable: string) => env[variable] ?? '');
    if (value === '') logger.warn({ event: 'config_advice', key: `anomaly.labels.${name}` }, `anomaly.labels.${name} is empty (${template}): the label is left out of alerts`);
    else expanded[name] = value;
  }
  return expanded;
}

/** A wildcard listen address is no place to send a person: name the host instead. */
function reachableUrl(adminUrl: string): string {
  const url = new URL(adminUrl);
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = hostname();
  return url.origin;
}
