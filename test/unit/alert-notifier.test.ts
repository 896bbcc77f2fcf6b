import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { AlertNotifier } from '../../src/alerting/index.js';
import { eventually } from '../support/eventually.js';
import { fakeAlertmanager } from '../support/fake-alertmanager.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function notifierFor(urls: string[], options: { queue?: number; resendIntervalMs?: number; now?: () => number } = {}) {
  const notifier = new AlertNotifier({
    urls,
    resendIntervalMs: options.resendIntervalMs ?? 60_000,
    timeoutMs: 500,
    queue: options.queue ?? 1000,
    generatorURL: 'http://tokenwatch-0:9464/metrics',
    logger: pino({ level: 'silent' }),
    retry: { attempts: 5, baseDelayMs: 50, maxDelayMs: 200 },
    now: options.now,
  });
  cleanups.push(() => notifier.stop());
  return notifier;
}

const content = (n: number) => ({ labels: { alertname: 'TokenIssuanceAnomaly', client_id: `c${n}`, pod: 'p' }, annotations: { summary: 's' } });

describe('the Alertmanager notifier', () => {
  test('posts every alert to every peer', async () => {
    const peers = [await fakeAlertmanager(), await fakeAlertmanager()];
    cleanups.push(...peers.map((peer) => peer.stop));
    const notifier = await notifierFor(peers.map((peer) => peer.url));
    notifier.firing('a', content(1), Date.parse('2026-01-01T00:00:00Z'));
    for (const peer of peers) await eventually(() => peer.accepted.length === 1);
    // A peer has the batch before the notifier has read its answer: wait for the count, not the arrival.
    await eventually(() => notifier.notifications().sent === 2);
    expect(peers[0]!.accepted[0]![0]).toMatchObject({ labels: content(1).labels, startsAt: '2026-01-01T00:00:00.000Z', generatorURL: 'http://tokenwatch-0:9464/metrics' });
    expect(notifier.notifications()).toEqual({ sent: 2, failed: 0, dropped: 0 });
  });

  test('sends a firing alert with endsAt four resend intervals ahead, and a resolved one with its resolve time, keeping startsAt', async () => {
    const peer = await fakeAlertmanager();
    cleanups.push(peer.stop);
    let nowMs = Date.parse('2026-01-01T00:00:00Z');
    const notifier = await notifierFor([peer.url], { resendIntervalMs: 60_000, now: () => nowMs });
    notifier.firing('a', content(1), nowMs);
    await eventually(() => peer.accepted.length === 1);
    nowMs += 60_000;
    notifier.resendDue();
    await eventually(() => peer.accepted.length === 2);
    notifier.resolved('a', nowMs + 5000);
    await eventually(() => peer.accepted.length === 3);
    const [first, resent, resolved] = peer.accepted.map((batch) => batch[0]!);
    expect(first).toMatchObject({ startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2026-01-01T00:04:00.000Z' });
    expect(resent).toMatchObject({ startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2026-01-01T00:05:00.000Z' });
    expect(resolved).toMatchObject({ startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2026-01-01T00:01:05.000Z' });
  });

  test('keeps resending a resolved alert for 15 minutes, then forgets it', async () => {
    const peer = await fakeAlertmanager();
    cleanups.push(peer.stop);
    let nowMs = Date.parse('2026-01-01T00:00:00Z');
    const notifier = await notifierFor([peer.url], { resendIntervalMs: 60_000, now: () => nowMs });
    notifier.firing('a', content(1), nowMs);
    notifier.resolved('a', nowMs);
    await eventually(() => peer.accepted.length >= 1);
    nowMs += 14 * 60_000;
    notifier.resendDue();
    await eventually(() => peer.accepted.length === 2);
    expect(peer.accepted[1]![0]!.endsAt).toBe('2026-01-01T00:00:00.000Z');
    const before = peer.attempts();
    nowMs += 2 * 60_000;
    notifier.resendDue();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(peer.attempts()).toBe(before);
  });

  test('retries a peer answering 5xx with backoff, and delivers once it recovers', async () => {
    const peer = await fakeAlertmanager();
    cleanups.push(peer.stop);
    peer.answer(503);
    const notifier = await notifierFor([peer.url]);
    notifier.firing('a', content(1), Date.now());
    // Counted failures, not arrivals: a request that has arrived may not have been answered yet.
    await eventually(() => notifier.notifications().failed >= 2);
    peer.answer(200);
    await eventually(() => notifier.notifications().sent === 1, 5000);
    expect(peer.accepted.length).toBe(1);
    expect(notifier.notifications().failed).toBeGreaterThanOrEqual(2);
    expect(notifier.notifications().sent).toBe(1);
  });

  test('bounds what waits for a slow peer, dropping the oldest and counting each drop', async () => {
    const peer = await fakeAlertmanager();
    cleanups.push(peer.stop);
    peer.answer(200, 300);
    const notifier = await notifierFor([peer.url], { queue: 10 });
    for (let n = 0; n < 50; n++) notifier.firing(`k${n}`, content(n), Date.now());
    expect(notifier.queueLength()).toBe(10);
    expect(notifier.notifications().dropped).toBe(40);
    await eventually(() => notifier.queueLength() === 0, 5000);
    expect(peer.accepted.flat().map((alert) => alert.labels.client_id)).toEqual(Array.from({ length: 10 }, (_, i) => `c${40 + i}`));
  });

  test('gives a batch up after its last attempt and counts it dropped, without throwing to the caller', async () => {
    const notifier = await notifierFor(['http://127.0.0.1:9']);
    expect(() => notifier.firing('a', content(1), Date.now())).not.toThrow();
    await eventually(() => notifier.notifications().dropped === 1, 5000);
    expect(notifier.notifications()).toMatchObject({ sent: 0, failed: 5 });
    expect(notifier.queueLength()).toBe(0);
  });
});
