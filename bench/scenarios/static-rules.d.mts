/** Types of static-rules.mjs for the tests that drive it. */

export interface ReplayedWorkload {
  readonly durationS: number;
  readonly issuance: ReadonlyArray<{ labels: Record<string, string>; counts: Float64Array }>;
  readonly failures: ReadonlyArray<{ labels: Record<string, string>; counts: Float64Array }>;
  readonly validations: Float64Array;
  readonly probes: ReadonlyArray<{ second: number; ok: boolean }>;
}

export interface AlertInstance {
  readonly alertname: string;
  readonly labels: Record<string, string>;
  readonly firedS: number;
  readonly resolvedS: number | undefined;
}

export const FIXTURE: string;
export const STATIC_KINDS: Readonly<Record<string, string>>;
export function staticRuleFiles(): { files: string[]; source: string };
export function replayStaticRules(workload: ReplayedWorkload, files: readonly string[]): AlertInstance[];
