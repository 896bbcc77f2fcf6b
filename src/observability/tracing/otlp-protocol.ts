/**
 * The OTLP protocol spans are exported with, read as the OpenTelemetry specification and the Node SDK read it:
 * OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else `http/protobuf`. The export worker
 * (span-export-worker.ts) builds the matching exporter; each reads its own endpoint, headers, timeout, compression
 * and TLS variables.
 */

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The specification's default, and the SDK's. */
const DEFAULT_PROTOCOL: OtlpProtocol = 'http/protobuf';

export interface OtlpProtocolChoice {
  readonly protocol: OtlpProtocol;
  /** Set when the variable named a protocol there is no exporter for: the default is used instead, as the SDK does. */
  readonly unsupported?: { readonly variable: string; readonly value: string } | undefined;
}

export function otlpTracesProtocol(env: NodeJS.ProcessEnv): OtlpProtocolChoice {
  for (const variable of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const value = env[variable]?.trim();
    if (!value) continue;
    const protocol = OTLP_PROTOCOLS.find((known) => known === value);
    return protocol ? { protocol } : { protocol: DEFAULT_PROTOCOL, unsupported: { variable, value } };
  }
  return { protocol: DEFAULT_PROTOCOL };
}
