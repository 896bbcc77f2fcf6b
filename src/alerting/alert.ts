/** An alert as Alertmanager's API v2 takes it (`postableAlert` in its OpenAPI document). */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
}

/** Alerts by outcome: delivered to a peer, in a failed attempt, or given up (queue full, retries spent). */
export interface NotificationCounts {
  sent: number;
  failed: number;
  dropped: number;
}
