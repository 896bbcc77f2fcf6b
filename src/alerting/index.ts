export { AlertNotifier, RESOLVED_RETENTION_MS, type AlertContent, type AlertNotifierOptions } from './alert-notifier.js';
export { DEFAULT_RETRY, type RetryPolicy } from './alertmanager-peer.js';
export { AlertmanagerError, type AlertmanagerErrorCode } from './errors.js';
export type { NotificationCounts, PostableAlert } from './alert.js';
