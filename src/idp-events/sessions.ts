/**
 * The active-sessions estimate for one issuer: distinct session ids with activity inside the idle timeout, minus
 * the ones that ended (logout, expiry). It is an estimate: a session that expires silently inside the IdP stays
 * counted until it has been idle for the timeout.
 *
 * Memory is bounded by maxSessions. The map is kept in order of last activity (a touched id is re-inserted at
 * the end), so the entry evicted when it is full is the one idle the longest.
 */
export const DEFAULT_MAX_SESSIONS = 100_000;

export class SessionEstimate {
  private readonly lastActivityMs = new Map<string, number>();

  constructor(
    private readonly idleTimeoutMs: number,
    private readonly maxSessions: number = DEFAULT_MAX_SESSIONS,
  ) {}

  touch(sessionId: string, atMs: number): void {
    const previous = this.lastActivityMs.get(sessionId);
    if (previous !== undefined) {
      if (previous >= atMs) return;
      this.lastActivityMs.delete(sessionId);
    }
    this.lastActivityMs.set(sessionId, atMs);
    if (this.lastActivityMs.size > this.maxSessions) {
      const oldest = this.lastActivityMs.keys().next().value;
      if (oldest !== undefined) this.lastActivityMs.delete(oldest);
    }
  }

  end(sessionId: string): void {
    this.lastActivityMs.delete(sessionId);
  }

  /**
   * Drops sessions idle past the timeout and answers how many remain. A full scan rather than stopping at the
   * first live entry: event times can arrive out of order, and this runs once per scrape (100k entries ≈ 1 ms).
   */
  count(nowMs: number): number {
    const idleSince = nowMs - this.idleTimeoutMs;
    for (const [sessionId, atMs] of this.lastActivityMs) {
      if (atMs <= idleSince) this.lastActivityMs.delete(sessionId);
    }
    return this.lastActivityMs.size;
  }
}
