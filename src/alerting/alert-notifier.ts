import type { Logger } from '../logging/logger.js';
import { ConnectionPool } from '../platform/http-exchange.js';
import type { NotificationCounts, PostableAlert } from './alert.js';
import { AlertmanagerPeer, DEFAULT_RETRY, type RetryPolicy } from './alertmanager-peer.js';

/** Prometheus keeps sending a resolved alert this long (its `resolvedRetention`), so every peer hears of it. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;
/** endsAt of a firing alert, in resend intervals: an alert its sender stopped resending resolves by itself. */
const ENDS_AT_INTERVALS = 4;

export interface AlertNotifierOptions {
  readonly urls: readonly string[];
  readonly resendIntervalMs: number;
  readonly timeoutMs: number;
  /** Alerts waiting per peer. */
  readonly queue: number;
  /** Absolute URL a person follows from the alert to the sidecar that raised it. */
  readonly generatorURL: string;
  readonly logger: Logger;
  readonly retry?: RetryPolicy;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface AlertContent {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

interface TrackedAlert {
  content: AlertContent;
  readonly startsAtMs: number;
  resolvedAtMs: number | undefined;
  lastSentMs: number;
}

/**
 * What Prometheus's notifier does for its rules, for the sidecar's own alerts: every alert goes to every peer of the
 * Alertmanager cluster (never through a load balancer: the cluster deduplicates, it does not forward), a firing
 * alert is resent every `resendInterval` with `endsAt` four intervals ahead, and a resolved one is sent with its
 * resolve time as `endsAt` and resent for 15 minutes. `startsAt` never changes while the alert lasts.
 */
export class AlertNotifier {
  private readonly alerts = new Map<string, TrackedAlert>();
  private readonly peers: AlertmanagerPeer[];
  /** Each peer's sender posts one batch at a time: two connections a peer are ample. */
  private readonly pool = new ConnectionPool(2);
  private readonly counts: NotificationCounts = { sent: 0, failed: 0, dropped: 0 };
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AlertNotifierOptions) {
    this.now = options.now ?? Date.now;
    const logger = options.logger.child({ component: 'alertmanager' });
    this.peers = options.urls.map(
      (url) =>
        new AlertmanagerPeer({
          url,
          timeoutMs: options.timeoutMs,
          capacity: options.queue,
          retry: options.retry ?? DEFAULT_RETRY,
          pool: this.pool,
          counts: this.counts,
          logger,
          random: options.random ?? Math.random,
        }),
    );
  }

  /** Resends what is due once a second; a firing alert is due every resendInterval. */
  start(): void {
    this.timer ??= setInterval(() => this.resendDue(), Math.min(1000, this.options.resendIntervalMs)).unref();
  }

  /** The alert `key` fires with this content. Sent at once when it is new; otherwise its next resend carries it. */
  firing(key: string, content: AlertContent, startsAtMs: number): void {
    const tracked = this.alerts.get(key);
    if (tracked !== undefined && tracked.resolvedAtMs === undefined && tracked.startsAtMs === startsAtMs) {
      tracked.content = content;
      return;
    }
    const fresh: TrackedAlert = { content, startsAtMs, resolvedAtMs: undefined, lastSentMs: 0 };
    this.alerts.set(key, fresh);
    this.send(key, fresh, this.now());
  }

  /** True while the alert `key` fires. */
  isFiring(key: string): boolean {
    const tracked = this.alerts.get(key);
    return tracked !== undefined && tracked.resolvedAtMs === undefined;
  }

  resolved(key: string, atMs: number): void {
    const tracked = this.alerts.get(key);
    if (tracked === undefined || tracked.resolvedAtMs !== undefined) return;
    tracked.resolvedAtMs = atMs;
    this.send(key, tracked, this.now());
  }

  resendDue(): void {
    const nowMs = this.now();
    for (const [key, tracked] of this.alerts) {
      if (tracked.resolvedAtMs !== undefined && nowMs - tracked.resolvedAtMs > RESOLVED_RETENTION_MS) {
        this.alerts.delete(key);
        continue;
      }
      if (nowMs - tracked.lastSentMs >= this.options.resendIntervalMs) this.send(key, tracked, nowMs);
    }
  }

  /** Alerts by outcome since start, summed over the peers. */
  notifications(): Readonly<NotificationCounts> {
    return this.counts;
  }

  /** Alerts waiting for a peer or being sent, summed over the peers. */
  queueLength(): number {
    let length = 0;
    for (const peer of this.peers) length += peer.length;
    return length;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.peers.map((peer) => peer.stop()));
    this.pool.close();
  }

  private send(key: string, tracked: TrackedAlert, nowMs: number): void {
    tracked.lastSentMs = nowMs;
    const alert: PostableAlert = {
      labels: tracked.content.labels,
      annotations: tracked.content.annotations,
      startsAt: new Date(tracked.startsAtMs).toISOString(),
      endsAt: new Date(tracked.resolvedAtMs ?? nowMs + ENDS_AT_INTERVALS * this.options.resendIntervalMs).toISOString(),
      generatorURL: this.options.generatorURL,
    };
    for (const peer of this.peers) peer.enqueue(key, alert);
  }
}
