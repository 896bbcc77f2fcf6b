import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { startAlertmanagerCluster, type ListedAlert } from '../support/alertmanager.js';
import { eventually, sleep } from '../support/eventually.js';
import { startIssuanceWriter } from '../support/issuance-writer.js';
import { startJwksServer } from '../support/jwks-server.js';
import { useStarted } from '../support/lifecycle.js';
import { bearer, sampleValue, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { withClaims } from '../support/tokens.js';

/**
 * The sidecar's own alerts, end to end: real traffic and real IdP event lines into tokenwatch, its alerts posted to
 * two clustered Alertmanager peers running the shipped routes, and what the webhook receiver is sent. Warmup and
 * windows are seconds here (the detectors allow it) so the file stays short.
 */

const cluster = useStarted(() => startAlertmanagerCluster({ groupWait: '1s', groupInterval: '2s', repeatInterval: '1h' }));
const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-anomaly-'));
const sidecars: TestSidecar[] = [];
afterAll(async () => {
  await Promise.all(sidecars.map((sidecar) => sidecar.shutdown()));
  rmSync(dir, { recursive: true, force: true });
});

function anomaly(urls: readonly string[], pod: string, overrides: Record<string, unknown> = {}) {
  return {
    warmup: '3s',
    issuanceSpike: { window: '3s', baseline: '10m' },
    failureBurst: { window: '3s', baseline: '10m' },
    idpUnreachable: { grace: '2s' },
    labels: { namespace: 'payments', pod },
    alertmanager: { urls, resendInterval: '2s', timeout: '1s' },
    ...overrides,
  };
}

/** A sidecar in events mode following its own event log of `issuer`. */
async function eventsSidecar(issuer: string, pod: string, overrides: Record<string, unknown> = {}): Promise<{ sidecar: TestSidecar; log: string }> {
  const log = join(dir, `${pod}-${new URL(issuer).hostname}.jsonl`);
  writeFileSync(log, '');
  const sidecar = await startTestSidecar({
    mode: 'events',
    idpEvents: [{ path: log, format: 'jsonl', issuer, fromBeginning: true }],
    anomaly: anomaly(cluster().urls, pod, overrides),
  });
  sidecars.push(sidecar);
  return { sidecar, log };
}

function named(alerts: readonly ListedAlert[], alertname: string, issuer: string): ListedAlert[] {
  return alerts.filter((alert) => alert.labels.alertname === alertname && alert.labels.issuer === issuer);
}

/** Waits until both peers list the alert (and returns what peer 0 lists), or until neither does. */
async function onBothPeers(alertname: string, issuer: string, present: boolean, timeoutMs: number): Promise<ListedAlert[]> {
  return eventually(async () => {
    const [first, second] = await Promise.all([cluster().alerts(0), cluster().alerts(1)]);
    const a = named(first, alertname, issuer);
    const b = named(second, alertname, issuer);
    if (present ? a.length === 0 || b.length === 0 : a.length + b.length > 0) return false;
    return a;
  }, timeoutMs, 200);
}

function notificationsFor(alertname: string, issuer: string) {
  return cluster().notifications.filter((n) => n.groupLabels.alertname === alertname && n.groupLabels.issuer === issuer);
}

describe.concurrent('alerts a person is sent', () => {
  test('a client going from steady to 20x issuance is on both peers within 15 s, and resolved within 20 s of the spike ending', async () => {
    const issuer = 'https://idp-spike.example';
    const { log } = await eventsSidecar(issuer, 'orders-api-0');
    const writer = startIssuanceWriter(log, { orders: 5, billing: 3 });
    try {
      await sleep(7000);
      const spikeStart = Date.now();
      writer.setRate('orders', 100);
      const [alert] = await onBothPeers('TokenIssuanceAnomaly', issuer, true, 15_000);
      expect(Date.now() - spikeStart).toBeLessThan(15_000);
      expect(alert!.labels).toEqual({
        alertname: 'TokenIssuanceAnomaly',
        severity: 'warning',
        issuer,
        client_id: 'orders',
        grant_type: 'client_credentials',
        namespace: 'payments',
        pod: 'orders-api-0',
      });
      expect(Object.keys(alert!.annotations).sort()).toEqual(['baseline', 'description', 'observed', 'runbook_url', 'score', 'summary']);
      expect(Number(alert!.annotations.score)).toBeGreaterThanOrEqual(10);
      expect(alert!.generatorURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

      writer.setRate('orders', 5);
      const spikeEnd = Date.now();
      await onBothPeers('TokenIssuanceAnomaly', issuer, false, 20_000);
      expect(Date.now() - spikeEnd).toBeLessThan(20_000);
      await eventually(() => notificationsFor('TokenIssuanceAnomaly', issuer).some((n) => n.status === 'resolved'), 10_000, 100);
    } finally {
      writer.stop();
    }
  });

  test('three replicas, one seeing a spike: one notification group, firing until the spike ends, never resolved before', async () => {
    const issuer = 'https://idp-fleet.example';
    const replicas = await Promise.all(['checkout-0', 'checkout-1', 'checkout-2'].map((pod) => eventsSidecar(issuer, pod)));
    const writers = replicas.map(({ log }) => startIssuanceWriter(log, { checkout: 4 }, 0.3));
    try {
      await sleep(7000);
      writers[0]!.setRate('checkout', 100);
      const listed = await onBothPeers('TokenIssuanceAnomaly', issuer, true, 15_000);
      await sleep(6000);
      const spikeEnd = Date.now();
      writers[0]!.setRate('checkout', 4);
      await onBothPeers('TokenIssuanceAnomaly', issuer, false, 20_000);
      await eventually(() => notificationsFor('TokenIssuanceAnomaly', issuer).some((n) => n.status === 'resolved'), 10_000, 100);

      expect(listed.map((alert) => alert.labels.pod)).toEqual(['checkout-0']);
      const sent = notificationsFor('TokenIssuanceAnomaly', issuer);
      expect(new Set(sent.map((n) => n.groupKey)).size).toBe(1);
      const early = sent.filter((n) => n.receivedAtMs < spikeEnd);
      expect(early.length).toBeGreaterThan(0);
      expect(early.every((n) => n.status === 'firing')).toBe(true);
      // The two peers deduplicate through their gossiped notification log: not one notification per peer.
      expect(sent.filter((n) => n.status === 'firing').length).toBeLessThanOrEqual(2);
    } finally {
      for (const writer of writers) writer.stop();
    }
  });

  test('two replicas seeing one storm, one calming first: the group stays firing until the last one resolves', async () => {
    const issuer = 'https://idp-storm.example';
    const replicas = await Promise.all(['cart-0', 'cart-1'].map((pod) => eventsSidecar(issuer, pod)));
    const writers = replicas.map(({ log }) => startIssuanceWriter(log, { cart: 5 }));
    try {
      await sleep(7000);
      for (const writer of writers) writer.setRate('cart', 100);
      await eventually(async () => named(await cluster().alerts(0), 'TokenIssuanceAnomaly', issuer).length === 2, 15_000, 200);
      writers[0]!.setRate('cart', 5);
      // cart-0's own alert resolves; cart-1's must stay active on both peers, and the group keeps firing.
      await eventually(async () => {
        const [first, second] = await Promise.all([cluster().alerts(0), cluster().alerts(1)]);
        return [first, second].every((alerts) => named(alerts, 'TokenIssuanceAnomaly', issuer).map((alert) => alert.labels.pod).join() === 'cart-1');
      }, 20_000, 200);
      await sleep(5000);
      const calmedSecond = Date.now();
      writers[1]!.setRate('cart', 5);
      await onBothPeers('TokenIssuanceAnomaly', issuer, false, 20_000);
      await eventually(() => notificationsFor('TokenIssuanceAnomaly', issuer).some((n) => n.status === 'resolved'), 10_000, 100);

      const sent = notificationsFor('TokenIssuanceAnomaly', issuer);
      expect(new Set(sent.map((n) => n.groupKey)).size).toBe(1);
      expect(sent.filter((n) => n.receivedAtMs < calmedSecond).every((n) => n.status === 'firing')).toBe(true);
    } finally {
      for (const writer of writers) writer.stop();
    }
  });

  test('the shipped inhibition mutes a per-pod anomaly while the fleet-level Prometheus alert for its issuer fires', async () => {
    const issuer = 'https://idp-inhibit.example';
    const { log } = await eventsSidecar(issuer, 'search-0');
    const writer = startIssuanceWriter(log, { search: 5 });
    try {
      await sleep(7000);
      writer.setRate('search', 100);
      await onBothPeers('TokenIssuanceAnomaly', issuer, true, 15_000);
      const fleetAlert = { labels: { alertname: 'UnusualTokenIssuance', severity: 'warning', issuer, client_id: 'search' }, startsAt: new Date().toISOString() };
      await Promise.all([cluster().post(0, [fleetAlert]), cluster().post(1, [fleetAlert])]);
      for (const peer of [0, 1]) {
        await eventually(async () => {
          const [anomalyAlert] = named(await cluster().alerts(peer), 'TokenIssuanceAnomaly', issuer);
          return anomalyAlert?.status.state === 'suppressed' && anomalyAlert.status.inhibitedBy.length === 1;
        }, 10_000, 200);
      }
    } finally {
      writer.stop();
    }
  });

  test('a steady workload with noise raises no alert over a sustained run', async () => {
    const issuer = 'https://idp-steady.example';
    const { sidecar, log } = await eventsSidecar(issuer, 'steady-0');
    const writer = startIssuanceWriter(log, { web: 6, mobile: 2, batch: 0.5, reports: 0.2 }, 0.8);
    try {
      await sleep(25_000);
      const metrics = await sidecar.metricsText();
      expect(sampleValue(metrics, 'anomaly_score', { detector: 'issuance_spike' })).toBeLessThan(10);
      expect(sampleValue(metrics, 'anomaly_active', { detector: 'issuance_spike' })).toBe(0);
      expect(named(await cluster().alerts(0), 'TokenIssuanceAnomaly', issuer)).toEqual([]);
      expect(notificationsFor('TokenIssuanceAnomaly', issuer)).toEqual([]);
    } finally {
      writer.stop();
    }
  });

  describe('on the validation path', () => {
    const jwks = useStarted(() => startJwksServer());

    test('an invalid_signature burst raises ValidationFailureAnomaly on both peers within 15 s, and resolves it', async () => {
      const sidecar = await startTestSidecar({
        mode: 'authz',
        issuers: [{ issuer: jwks().issuer, audiences: ['api'] }],
        anomaly: anomaly(cluster().urls, 'gateway-0'),
      });
      sidecars.push(sidecar);
      const good = await jwks().sign({ aud: 'api', sub: 'someone' });
      const forged = withClaims(good, { sub: 'admin' });
      const steady = setInterval(() => void sidecar.request('/', bearer(good)).then((r) => r.body?.cancel()), 200);
      try {
        await sleep(7000);
        const burstStart = Date.now();
        const burst = setInterval(() => {
          for (let i = 0; i < 5; i++) void sidecar.request('/', bearer(forged)).then((r) => r.body?.cancel());
        }, 100);
        let listed: ListedAlert[];
        try {
          listed = await onBothPeers('ValidationFailureAnomaly', jwks().issuer, true, 15_000);
          expect(Date.now() - burstStart).toBeLessThan(15_000);
        } finally {
          clearInterval(burst);
        }
        expect(listed[0]!.labels).toMatchObject({ reason: 'invalid_signature', pod: 'gateway-0', severity: 'warning' });
        await onBothPeers('ValidationFailureAnomaly', jwks().issuer, false, 20_000);
      } finally {
        clearInterval(steady);
      }
    });
  });
});

describe('when the IdP or Alertmanager fails', () => {
  const jwks = useStarted(() => startJwksServer());

  test('an IdP outage raises IdPUnreachable once past its grace, and resolves it when the IdP answers again', async () => {
    const sidecar = await startTestSidecar({
      mode: 'authz',
      issuers: [{ issuer: jwks().issuer, audiences: ['api'], jwksCacheMaxAge: '2s' }],
      anomaly: anomaly(cluster().urls, 'gateway-1'),
    });
    sidecars.push(sidecar);
    jwks().setMode('down');
    const [alert] = await onBothPeers('IdPUnreachable', jwks().issuer, true, 15_000);
    expect(alert!.labels).toMatchObject({ pod: 'gateway-1', namespace: 'payments' });
    jwks().setMode('ok');
    await onBothPeers('IdPUnreachable', jwks().issuer, false, 15_000);
  });

  test('an alert raised while Alertmanager is down reaches it once it is back; failed sends are counted and the queue stays bounded', async () => {
    const issuer = 'https://idp-am-down.example';
    const { sidecar, log } = await eventsSidecar(issuer, 'ledger-0', { alertmanager: { urls: cluster().urls, resendInterval: '2s', timeout: '1s', queue: 10 } });
    const writer = startIssuanceWriter(log, { ledger: 5 });
    try {
      await sleep(7000);
      await cluster().stopAll();
      writer.setRate('ledger', 100);
      await eventually(async () => sampleValue(await sidecar.metricsText(), 'anomaly_active', { detector: 'issuance_spike' }) === 1, 15_000, 200);
      await eventually(async () => sampleValue(await sidecar.metricsText(), 'alertmanager_notifications_total', { result: 'failed' }) >= 4, 15_000, 200);
      const queued = sampleValue(await sidecar.metricsText(), 'alertmanager_queue_length');
      expect(queued).toBeGreaterThan(0);
      expect(queued).toBeLessThanOrEqual(2 * 10);

      await cluster().startAll();
      await onBothPeers('TokenIssuanceAnomaly', issuer, true, 20_000);
      // Both peers may hold the alert before the sidecar has read their answers: wait for the count.
      await eventually(async () => sampleValue(await sidecar.metricsText(), 'alertmanager_notifications_total', { result: 'sent' }) > 0, 5000, 100);
    } finally {
      writer.stop();
    }
  });
});
