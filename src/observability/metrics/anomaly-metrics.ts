import { Counter, Gauge, type Registry } from 'prom-client';
import { METRICS, NOTIFICATION_RESULTS, metricOptions } from '../catalog/metrics.js';

type NotificationResult = (typeof NOTIFICATION_RESULTS)[number];

/** What the anomaly metrics read at scrape time; absent while detection is off (the series then read 0). */
export interface AnomalySources {
  detectors(): ReadonlyArray<{ readonly detector: string; readonly active: number; readonly score: number }>;
  notifications(): Readonly<Record<NotificationResult, number>>;
  queueLength(): number;
}

/**
 * anomaly_active, anomaly_score, alertmanager_notifications_total and alertmanager_queue_length, read from the
 * detection engine and the Alertmanager notifier at scrape time. Registered whether detection is on or not, so a
 * dashboard or an absent() alert finds the series either way. Returns the function that connects the sources.
 */
export function registerAnomalyMetrics(registry: Registry, detectorNames: readonly string[]): (sources: AnomalySources) => void {
  let sources: AnomalySources | undefined;
  const registers = [registry];
  const active = new Gauge({
    ...metricOptions(METRICS.anomalyActive),
    registers,
    collect() {
      for (const status of sources?.detectors() ?? []) this.set({ detector: status.detector }, status.active);
    },
  });
  const score = new Gauge({
    ...metricOptions(METRICS.anomalyScore),
    registers,
    collect() {
      for (const status of sources?.detectors() ?? []) this.set({ detector: status.detector }, status.score);
    },
  });
  for (const detector of detectorNames) {
    active.set({ detector }, 0);
    score.set({ detector }, 0);
  }
  const counted: Record<NotificationResult, number> = { sent: 0, failed: 0, dropped: 0 };
  const notifications = new Counter({
    ...metricOptions(METRICS.alertmanagerNotifications),
    registers,
    collect() {
      const now = sources?.notifications();
      if (now === undefined) return;
      for (const result of NOTIFICATION_RESULTS) {
        if (now[result] > counted[result]) this.inc({ result }, now[result] - counted[result]);
        counted[result] = now[result];
      }
    },
  });
  for (const result of NOTIFICATION_RESULTS) notifications.inc({ result }, 0);
  new Gauge({
    ...metricOptions(METRICS.alertmanagerQueueLength),
    registers,
    collect() {
      this.set(sources?.queueLength() ?? 0);
    },
  });
  return (connected) => {
    sources = connected;
  };
}
