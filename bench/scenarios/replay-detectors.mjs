import { validateConfig } from '../../dist/config/load.js';
import { createDetection, ALERT_NAMES } from '../../dist/detection/index.js';
import { ISSUER } from './workloads.mjs';

/** The kind of anomaly each sidecar alert reports, to match it with what a scenario injected. */
export const SIDECAR_KINDS = { TokenIssuanceAnomaly: 'issuance', ValidationFailureAnomaly: 'failure', IdPUnreachable: 'idp', RefreshTokenReuse: 'reuse' };

/**
 * Replays a workload through the sidecar's detectors with their production defaults (or `anomalyOverrides`, keys
 * of the `anomaly` section), on a virtual clock: each
 * simulated second the counts go through the same observer ports the gate and the event followers call, and the
 * engine steps once. Returns every alert instance with when it fired and resolved (seconds into the workload).
 */
export function replayDetectors(workload, anomalyOverrides = {}) {
  const config = validateConfig(
    {
      issuers: [{ issuer: ISSUER, audiences: ['api'] }],
      idpEvents: [{ path: '/dev/null', format: 'jsonl', issuer: ISSUER }],
      anomaly: { ...anomalyOverrides, alertmanager: { urls: ['http://127.0.0.1:9093'] } },
    },
    'scenarios',
  );
  const startMs = Date.parse('2026-01-01T00:00:00Z');
  let nowMs = startMs;
  const open = new Map();
  const instances = [];
  const detection = createDetection(
    config.anomaly,
    { validationIssuers: [ISSUER], eventIssuers: [ISSUER] },
    {
      firing(anomaly) {
        if (open.has(anomaly.key)) return;
        const instance = { alertname: ALERT_NAMES[anomaly.detector], labels: anomaly.labels, firedS: (nowMs - startMs) / 1000, resolvedS: undefined };
        open.set(anomaly.key, instance);
        instances.push(instance);
      },
      resolved(anomaly, atMs) {
        open.get(anomaly.key).resolvedS = (atMs - startMs) / 1000;
        open.delete(anomaly.key);
      },
    },
    () => nowMs,
  );
  const issuanceEvents = workload.issuance.map((series) => ({ outcome: 'issued', clientId: series.labels.client_id, grantType: series.labels.grant_type }));
  const failureReports = workload.failures.map((series) => ({ failure: { reason: series.labels.reason, context: { issuer: ISSUER } } }));
  let nextProbe = 0;
  for (let second = 0; second < workload.durationS; second++) {
    workload.issuance.forEach((series, index) => {
      for (let n = series.counts[second]; n > 0; n--) detection.idpEvents.observed(ISSUER, issuanceEvents[index]);
    });
    workload.failures.forEach((series, index) => {
      for (let n = series.counts[second]; n > 0; n--) detection.gate.validated(failureReports[index]);
    });
    const probe = workload.probes[nextProbe];
    if (probe?.second === second) {
      detection.idpFetched(ISSUER, 'jwks', probe.ok ? 'success' : 'timeout');
      nextProbe += 1;
    }
    nowMs += 1000;
    detection.engine.step(nowMs);
  }
  return instances;
}
