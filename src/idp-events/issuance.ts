import { ClientIdLabels } from './client-ids.js';
import { errorLabel } from './error-codes.js';
import type { IdpEvent } from './event.js';
import type { IdpEventMetrics } from './metrics.js';
import type { IdpEventObserver } from './observer.js';
import { SessionEstimate } from './sessions.js';

export interface IssuerRecorderOptions {
  clientIdTopN?: number;
  sessionIdleTimeoutMs: number;
  maxSessions?: number;
  observer?: IdpEventObserver | undefined;
}

/**
 * Events → metrics for one issuer. Every source with the same issuer shares one recorder, so the client_id cap
 * and the session estimate span all of that IdP's files.
 */
export class IssuerRecorder {
  private readonly clientIds: ClientIdLabels;
  private readonly sessions: SessionEstimate;
  private readonly untrackSessions: () => void;
  private newestEventMs = 0;
  private readonly observer: IdpEventObserver | undefined;

  constructor(
    private readonly issuer: string,
    private readonly metrics: IdpEventMetrics,
    options: IssuerRecorderOptions,
  ) {
    this.clientIds = new ClientIdLabels(options.clientIdTopN);
    this.sessions = new SessionEstimate(options.sessionIdleTimeoutMs, options.maxSessions);
    this.observer = options.observer;
    this.untrackSessions = metrics.trackSessions(issuer, (nowMs) => this.sessions.count(nowMs));
    metrics.activeSessions.set({ issuer }, 0);
  }

  record(event: IdpEvent, nowMs: number): void {
    // A time from the future (a skewed IdP clock) would keep a session alive and the timestamp ahead: clamp it.
    const atMs = event.timeMs === undefined ? nowMs : Math.min(event.timeMs, nowMs);
    if (event.outcome === 'issued') {
      this.metrics.tokenIssuance.inc({ issuer: this.issuer, grant_type: event.grantType, client_id: this.clientIds.label(event.clientId) });
    } else if (event.outcome === 'error') {
      this.metrics.oauthErrors.inc({ issuer: this.issuer, error: errorLabel(event.error), client_id: this.clientIds.label(event.clientId) });
    } else if (event.outcome === 'logout') {
      this.metrics.logouts.inc({ issuer: this.issuer, client_id: this.clientIds.label(event.clientId) });
    } else if (event.outcome === 'revoked') {
      this.metrics.tokenRevocations.inc({ issuer: this.issuer, client_id: this.clientIds.label(event.clientId) });
    }
    if (event.sessionId !== undefined) {
      if (event.session === 'ended') this.sessions.end(event.sessionId);
      else if (event.session === 'active') this.sessions.touch(event.sessionId, atMs);
    }
    this.observer?.observed(this.issuer, event);
    if (atMs > this.newestEventMs) {
      this.newestEventMs = atMs;
      this.metrics.lastEventTimestamp.set({ issuer: this.issuer }, atMs / 1000);
    }
  }

  close(): void {
    this.untrackSessions();
  }
}
