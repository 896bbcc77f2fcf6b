import type { OtlpProtocol } from '../otlp-protocol.js';
import type { ShippedRecord } from '../span-record.js';

/** What the request thread starts the export worker with. */
export interface ExportWorkerData {
  /** Decided by the request thread from the OTEL_* variables (otlp-protocol.ts), which logs a value it cannot use. */
  readonly protocol: OtlpProtocol;
}

/** Messages from the request thread (span-shipper.ts) to the export worker. */
export type ToExportWorker = { readonly type: 'spans'; readonly spans: readonly ShippedRecord[] } | { readonly type: 'shutdown' };

/** Messages from the export worker back to the request thread. */
export type FromExportWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'taken'; readonly spans: number }
  /** Spans the worker could not export: a record it could not read, or an export the exporter gave up on. */
  | { readonly type: 'dropped'; readonly spans: number }
  | { readonly type: 'closed' };
