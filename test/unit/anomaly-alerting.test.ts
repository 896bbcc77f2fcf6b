import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { afterEach, expect, test } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logging/logger.js';
import { buildAnomalyAlerting } from '../../src/main/anomaly-alerting.js';
import { ValidationMetrics } from '../../src/observability/metrics/validation-metrics.js';
import { eventually } from '../support/eventually.js';
import { fakeAlertmanager } from '../support/fake-alertmanager.js';

const ISSUER = 'https://idp.example.com';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

test('labels alerts from the environment, leaves an unset one out and says so, and links to the named admin host', async () => {
  const alertmanager = await fakeAlertmanager();
  cleanups.push(alertmanager.stop);
  const config = validateConfig(
    {
      issuers: [{ issuer: ISSUER, audiences: ['api'] }],
      anomaly: {
        idpUnreachable: { grace: '1ms' },
        labels: { namespace: '${POD_NAMESPACE}', pod: '${POD_NAME}', team: 'auth-${POD_NAMESPACE}' },
        alertmanager: { urls: [alertmanager.url] },
      },
    },
    'test',
  );
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const metrics = new ValidationMetrics({ version: 'test', issuers: [ISSUER], routeScopes: [], tokenCacheEntries: () => 0, dataPlaneMode: undefined });
  const alerting = buildAnomalyAlerting(config, { env: { POD_NAMESPACE: 'payments' }, logger: createLogger('info', sink), metrics })!;
  cleanups.push(() => alerting.stop());
  alerting.start('http://0.0.0.0:9464');
  alerting.detection.idpFetched!(ISSUER, 'jwks', 'timeout');

  await eventually(() => alertmanager.accepted.length > 0, 10_000);
  const [alert] = alertmanager.accepted[0]!;
  expect(alert!.labels).toEqual({ alertname: 'IdPUnreachable', severity: 'warning', issuer: ISSUER, endpoint: 'jwks', namespace: 'payments', team: 'auth-payments' });
  expect(alert!.generatorURL).toBe(`http://${hostname()}:9464/metrics`);
  expect(alert!.annotations.runbook_url).toMatch(/docs\/anomaly-detection\.md#idpunreachable$/);
  expect(lines.some((line) => line.event === 'config_advice' && line.key === 'anomaly.labels.pod')).toBe(true);
});
