/** The modes that serve requests on a data-plane listener (`mode: events` has none). */
export const DATA_PLANE_MODES = ['authz', 'proxy'] as const;
export type DataPlaneMode = (typeof DATA_PLANE_MODES)[number];

/**
 * Why tokenwatch itself failed a request: its own 5xx answers, and connections it shed at `limits.connections`.
 * These are the errors of its availability SLI; a 5xx the upstream sends is the app's, not tokenwatch's.
 */
export const OWN_FAILURE_CAUSES = [
  'jwks_unavailable',
  'upstream_unreachable',
  'upstream_timeout',
  'upstream_failed',
  'shutting_down',
  'internal_error',
  'connection_shed',
] as const;
export type OwnFailureCause = (typeof OWN_FAILURE_CAUSES)[number];

/** What a data-plane server reports about the requests it serves; the metrics implement it. */
export interface RequestObserver {
  requestReceived(): void;
  requestFailed(cause: OwnFailureCause): void;
}
