import { z } from 'zod';
import { FAILURE_REASONS } from '../auth/reasons.js';
import { duration } from './types.js';

/**
 * The `anomaly` section: the detectors inside the sidecar and the Alertmanager peers they notify.
 * docs/configuration.md#anomaly documents each key and its default.
 */

const RATE_PATTERN = /^(\d+(?:\.\d+)?)\/(s|m|h)$/;
const PER_UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600 };

/** A rate such as `1/s`, `30/m` or `100/h`, events per second once parsed. */
function rate(defaultText: string) {
  return z
    .string()
    .default(defaultText)
    .transform((text, ctx) => {
      const match = RATE_PATTERN.exec(text);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `expected a rate such as 1/s, 30/m or 100/h, got ${JSON.stringify(text)}` });
        return z.NEVER;
      }
      return Number(match[1]) / PER_UNIT_SECONDS[match[2]!]!;
    });
}

const positive = (text: string) => duration(text).refine((ms) => ms > 0, { message: 'must be longer than 0' });
const factor = z.number().min(1.5, 'a factor below 1.5 flags ordinary noise').max(1000).default(10);
const severity = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a lower-case label value such as warning or critical').default('warning');

/** Alertmanager peers are addressed one by one, never through a load balancer: each must get every alert. */
const alertmanagerUrl = z.string().refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), {
  message: 'expected an absolute http(s) URL of one Alertmanager peer',
});

/** Rate detectors: a short window compared with a long, slowly adapting baseline of the same series. */
function rateDetector(defaults: { window: string; baseline: string }) {
  return {
    enabled: z.boolean().default(true),
    factor,
    minRate: rate('1/s'),
    window: positive(defaults.window),
    baseline: positive(defaults.baseline),
    severity,
  };
}

export const anomalySchema = z
  .strictObject({
    /** Unset: on exactly when alertmanager.urls names a peer (see docs/configuration.md#anomaly). */
    enabled: z.boolean().optional(),
    warmup: duration('5m'),
    issuanceSpike: z.strictObject(rateDetector({ window: '10s', baseline: '30m' })).prefault({}),
    failureBurst: z
      .strictObject({
        ...rateDetector({ window: '10s', baseline: '30m' }),
        reasons: z
          .array(z.enum(FAILURE_REASONS, { message: `expected one of ${FAILURE_REASONS.join(', ')}` }))
          .min(1)
          .default(['invalid_signature', 'unknown_key', 'expired', 'invalid_audience']),
      })
      .prefault({}),
    idpUnreachable: z.strictObject({ enabled: z.boolean().default(true), grace: positive('30s'), severity }).prefault({}),
    refreshTokenReuse: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** The alert stays active this long after the last reuse. */
        hold: positive('10m'),
        /** Refresh-token ids remembered to notice one presented twice. */
        rememberedTokens: z.number().int().min(100).max(1_000_000).default(100_000),
        severity,
      })
      .prefault({}),
    trackedClients: z.number().int().min(1).max(10_000).default(200),
    /** Values may name environment variables, `${POD_NAME}`: expanded at start-up. */
    labels: z
      .record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a Prometheus label name'), z.string())
      .default({ namespace: '${POD_NAMESPACE}', pod: '${POD_NAME}' }),
    /** Where a person lands from the alert: the admin listener's address as seen from outside the pod. */
    externalUrl: alertmanagerUrl.optional(),
    runbookUrl: z.string().url().default('https://github.com/tokenwatch/tokenwatch/blob/main/docs/anomaly-detection.md'),
    alertmanager: z
      .strictObject({
        urls: z.array(alertmanagerUrl).max(16).default([]),
        resendInterval: positive('1m'),
        timeout: positive('5s'),
        queue: z.number().int().min(10).max(100_000).default(1000),
      })
      .prefault({}),
  })
  .transform(({ enabled, ...anomaly }) => ({ ...anomaly, enabled: enabled ?? anomaly.alertmanager.urls.length > 0 }))
  .superRefine((anomaly, ctx) => {
    if (anomaly.enabled && anomaly.alertmanager.urls.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['alertmanager', 'urls'], message: 'at least one Alertmanager URL is required when anomaly.enabled is true' });
    }
  });

export type AnomalyConfig = z.output<typeof anomalySchema>;
