import { describe, expect, test } from 'vitest';
import { FIXTURE, replayStaticRules } from '../../bench/scenarios/static-rules.mjs';
import { requireTool } from '../support/tools.js';

const ISSUER = 'https://idp.example.com/realms/prod';

/** A workload of `minutes` with `invalid_signature` failures at `burst`/s over [fromS, toS), as workloads.mjs shapes them. */
function failureWorkload(minutes: number, burst: number, fromS: number, toS: number) {
  const durationS = minutes * 60;
  const counts = new Float64Array(durationS).map((_, second) => (second >= fromS && second < toS ? burst : 0));
  return {
    durationS,
    issuance: [],
    failures: [{ labels: { issuer: ISSUER, reason: 'invalid_signature' }, counts }],
    validations: new Float64Array(durationS).fill(100),
    probes: [{ second: 0, ok: true }],
  };
}

/** The static half of `npm run scenarios`: the rules evaluated by promtool in virtual time over a replayed series. */
describe('the static-rule replay', () => {
  test('finds when a rule fires and resolves from what promtool reports, on the fixture rules', () => {
    requireTool('promtool', 'prometheus');
    const instances = replayStaticRules(failureWorkload(20, 20, 300, 600), [FIXTURE]).filter((instance) => instance.alertname === 'ForgedTokenBurst');
    expect(instances).toHaveLength(1);
    // rate over 5m passes 1/s within seconds, then `for: 2m`; probes every 30 s.
    expect(instances[0]!.firedS).toBeGreaterThanOrEqual(300 + 120);
    expect(instances[0]!.firedS).toBeLessThanOrEqual(300 + 180);
    expect(instances[0]!.resolvedS).toBeGreaterThan(600);
  });
});
