import type { Logger } from '../logging/logger.js';
import { exchange, type ConnectionPool, type ExchangeFailure } from '../platform/http-exchange.js';
import type { NotificationCounts, PostableAlert } from './alert.js';
import { AlertmanagerError } from './errors.js';

/** Alertmanager's own clients (Prometheus) post at most 64 alerts at a time. */
const MAX_BATCH = 64;

export interface RetryPolicy {
  /** Attempts per batch, the first included; after the last the batch is dropped (the next resend brings it back). */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** About 15 s of trying, well inside a resend interval, so a down peer holds no more than one resend's alerts. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 8000 };

export interface PeerOptions {
  readonly url: string;
  readonly timeoutMs: number;
  /** Alerts waiting for this peer; past it the oldest is dropped. */
  readonly capacity: number;
  readonly retry: RetryPolicy;
  readonly pool: ConnectionPool;
  readonly counts: NotificationCounts;
  readonly logger: Logger;
  readonly random: () => number;
}

/**
 * One Alertmanager peer: its own bounded queue and its own sender, so a slow or dead peer never delays the others.
 * The queue holds the newest version of each alert once (a resend replaces the one still waiting), so it is bounded
 * by the alerts in play as well as by `capacity`. A failed post is retried with exponential backoff and full
 * jitter (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015), and nothing here ever throws to
 * the caller: `enqueue` only adds to a map.
 */
export class AlertmanagerPeer {
  private readonly queue = new Map<string, PostableAlert>();
  private readonly endpoint: string;
  private inFlight = 0;
  private sending: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private failing = false;

  constructor(private readonly options: PeerOptions) {
    this.endpoint = new URL('api/v2/alerts', options.url.endsWith('/') ? options.url : `${options.url}/`).href;
  }

  /** Alerts waiting or being sent. */
  get length(): number {
    return this.queue.size + this.inFlight;
  }

  enqueue(key: string, alert: PostableAlert): void {
    if (this.stopped) return;
    this.queue.delete(key);
    this.queue.set(key, alert);
    if (this.queue.size > this.options.capacity) {
      this.queue.delete(this.queue.keys().next().value!);
      this.options.counts.dropped += 1;
    }
    // Started after the caller's turn, so the alerts of one step go out as one batch.
    this.sending ??= Promise.resolve()
      .then(() => this.drain())
      .finally(() => (this.sending = undefined));
  }

  /** Stops retrying; waits for a post under way, which `timeout` bounds. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.sending;
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0 && !this.stopped) {
      const batch = new Map<string, PostableAlert>();
      for (const [key, alert] of this.queue) {
        batch.set(key, alert);
        this.queue.delete(key);
        if (batch.size === MAX_BATCH) break;
      }
      this.inFlight = batch.size;
      await this.deliver(batch);
      this.inFlight = 0;
    }
  }

  private async deliver(batch: Map<string, PostableAlert>): Promise<void> {
    const { counts, retry } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.post([...batch.values()]);
        counts.sent += batch.size;
        if (this.failing) this.options.logger.info({ event: 'alertmanager_recovered', url: this.options.url }, 'Alertmanager accepts alerts again');
        this.failing = false;
        return;
      } catch (error) {
        counts.failed += batch.size;
        if (!this.failing) {
          const { code, message } = error as AlertmanagerError;
          this.options.logger.warn({ event: 'alertmanager_send_failed', url: this.options.url, code, reason: message }, 'Alertmanager refused or missed alerts; retrying with backoff');
        }
        this.failing = true;
        if (attempt >= retry.attempts || this.stopped) {
          counts.dropped += batch.size;
          return;
        }
      }
      await this.pause(this.options.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1)));
      // What was resent meanwhile is newer than what failed: send that instead, once.
      for (const key of batch.keys()) {
        const newer = this.queue.get(key);
        if (newer === undefined) continue;
        batch.set(key, newer);
        this.queue.delete(key);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async post(alerts: readonly PostableAlert[]): Promise<void> {
    const { timeoutMs, pool, url } = this.options;
    let response;
    try {
      response = await exchange(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'tokenwatch' },
        body: JSON.stringify(alerts),
        timeoutMs,
        pool,
      });
    } catch (error) {
      const failure = error as ExchangeFailure;
      if (failure.kind === 'timeout') throw new AlertmanagerError('ERR_ALERTMANAGER_TIMEOUT', url, 'timed out');
      throw new AlertmanagerError('ERR_ALERTMANAGER_NETWORK', url, failure.detail ? `network error ${failure.detail}` : 'network error');
    }
    if (response.status < 200 || response.status > 299) {
      throw new AlertmanagerError('ERR_ALERTMANAGER_STATUS', url, `HTTP ${response.status}`);
    }
  }
}
