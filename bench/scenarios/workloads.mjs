/**
 * The replayed workloads: per-second counts of every series, drawn from a seeded generator so every run replays the
 * same data. One workload feeds both the sidecar's detectors and the static Prometheus rules.
 */

export const ISSUER = 'https://idp.example.com/realms/prod';
const DAY_S = 86_400;
const HOUR_S = 3600;

/** Clients of the day-shaped workload: usual rate at the daily peak (per second) and grant type. */
const CLIENTS = [
  ['orders-api', 8, 'client_credentials'],
  ['payments-api', 5, 'client_credentials'],
  ['web-portal', 3, 'authorization_code'],
  ['web-portal', 6, 'refresh_token'],
  ['mobile-app', 2, 'refresh_token'],
  ['inventory-sync', 1, 'client_credentials'],
  ['reports', 0.5, 'client_credentials'],
  ['billing-batch', 0.3, 'client_credentials'],
  ['partner-a', 0.2, 'client_credentials'],
  ['partner-b', 0.1, 'client_credentials'],
  ['admin-console', 0.05, 'authorization_code'],
  ['audit-export', 0.01, 'client_credentials'],
];

/** Failures per validated request at the peak, by reason: clients with expired tokens, a stray bad audience. */
const FAILURE_SHARE = { expired: 0.002, invalid_audience: 0.0005, invalid_signature: 0.00005, unknown_key: 0.00005 };
const VALIDATIONS_PER_ISSUANCE = 40;

/** mulberry32: small, seedable, good enough for noise. */
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function poisson(random, mean) {
  if (mean <= 0) return 0;
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(random)));
  const limit = Math.exp(-mean);
  let product = random();
  let count = 0;
  while (product > limit) {
    count += 1;
    product *= random();
  }
  return count;
}

function normal(random) {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Traffic over the day: a trough at night, a peak in the afternoon; `startS` is the time of day of second 0. */
function dayShape(second, startS) {
  const phase = (((second + startS) % DAY_S) + DAY_S) % DAY_S / DAY_S;
  return 0.2 + 0.8 * (0.5 - 0.5 * Math.cos(2 * Math.PI * (phase - 0.125)));
}

/** Both Prometheus and the sidecar run this long before a workload's figures count: the static rules need 1h of history. */
export const HISTORY_S = 2 * HOUR_S;

/**
 * A workload: `durationS` seconds (after HISTORY_S of the same usual traffic) starting at `startS` into the day. The usual traffic (day shape, a slow ramp of
 * +50% over a day, Poisson counts around a mean that itself wanders by ±30% minute to minute) plus `events`, each
 * a change of one or more series over [fromS, toS).
 */
function workload({ name, durationS: measuredS, startS = 9 * HOUR_S, seed, events: measuredEvents = [], expected = [] }) {
  const durationS = HISTORY_S + measuredS;
  const events = measuredEvents.map((event) => ({ ...event, fromS: event.fromS + HISTORY_S, toS: event.toS + HISTORY_S }));
  startS -= HISTORY_S;
  const random = generator(seed);
  const issuance = CLIENTS.map(([client, peak, grant]) => ({ labels: { issuer: ISSUER, client_id: client, grant_type: grant }, counts: new Float64Array(durationS) }));
  const failures = Object.keys(FAILURE_SHARE).map((reason) => ({ labels: { issuer: ISSUER, reason }, counts: new Float64Array(durationS) }));
  const validations = new Float64Array(durationS);
  let wander = CLIENTS.map(() => 1);
  for (let second = 0; second < durationS; second++) {
    if (second % 60 === 0) wander = CLIENTS.map(() => Math.exp(0.3 * normal(random)));
    const usual = dayShape(second, startS) * (1 + (0.5 * second) / DAY_S);
    let issued = 0;
    CLIENTS.forEach(([client, peak], index) => {
      let mean = peak * usual * wander[index];
      for (const event of events) if (event.issuance && second >= event.fromS && second < event.toS && event.clients.includes(client)) mean *= event.issuance;
      const count = poisson(random, mean);
      issuance[index].counts[second] = count;
      issued += peak * usual;
    });
    const validated = issued * VALIDATIONS_PER_ISSUANCE;
    validations[second] = poisson(random, validated);
    failures.forEach((series) => {
      let mean = validated * FAILURE_SHARE[series.labels.reason];
      for (const event of events) if (event.failures && event.reason === series.labels.reason && second >= event.fromS && second < event.toS) mean += event.failures;
      series.counts[second] = poisson(random, mean);
    });
  }
  const outages = events.filter((event) => event.idpDown).map((event) => [event.fromS, event.toS]);
  const probes = probeSchedule(durationS, outages);
  return { name, durationS, measuredFromS: HISTORY_S, issuance, failures, validations, probes, anomalies: events.map((event) => ({ fromS: event.fromS, toS: event.toS })), expected };
}

/** The key store probes every 8 min (80% of a 10 min JWKS max age) and, while failing, retries every 30 s. */
const REFRESH_S = 480;
const RETRY_S = 30;

/** When the key store fetches the JWKS, and whether the IdP answered: what idp_up and the detector both see. */
function probeSchedule(durationS, outages) {
  const probes = [];
  for (let second = 0; second < durationS; ) {
    const ok = !outages.some(([fromS, toS]) => second >= fromS && second < toS);
    probes.push({ second, ok });
    second += ok ? REFRESH_S : RETRY_S;
  }
  return probes;
}

const SPIKE_AT = HOUR_S;
const SPIKE_FOR = 10 * 60;
const SPIKE_TOTAL = 2 * HOUR_S;

function spike(factor, clients, label) {
  return workload({
    name: `issuance ${factor}x, ${label}`,
    durationS: SPIKE_TOTAL,
    seed: 7 + factor + clients.length,
    events: [{ issuance: factor, clients, fromS: SPIKE_AT, toS: SPIKE_AT + SPIKE_FOR }],
    expected: clients.map((client) => ({ alertname: 'issuance', labels: { client_id: client } })),
  });
}

/** Failures of one reason at `perSecond` on top of the usual ones, for 5 minutes. */
function burst(label, reason, perSecond, seed) {
  return workload({
    name: `${label} (${reason} ${perSecond}/s)`,
    durationS: SPIKE_TOTAL,
    seed,
    events: [{ failures: perSecond, reason, fromS: SPIKE_AT, toS: SPIKE_AT + 5 * 60 }],
    expected: [{ alertname: 'failure', labels: { reason } }],
  });
}

const MANY = ['orders-api', 'payments-api', 'web-portal', 'mobile-app', 'inventory-sync', 'reports'];

/** Every scenario of `npm run scenarios`, in order. */
export function scenarios() {
  return [
    workload({ name: 'day-shaped steady workload, noise and a slow ramp', durationS: DAY_S, startS: 0, seed: 1 }),
    spike(5, ['inventory-sync'], 'one client'),
    spike(10, ['inventory-sync'], 'one client'),
    spike(20, ['inventory-sync'], 'one client'),
    spike(5, MANY, 'six clients'),
    spike(10, MANY, 'six clients'),
    spike(20, MANY, 'six clients'),
    burst('forged-token burst', 'invalid_signature', 20, 41),
    burst('kid spray', 'unknown_key', 50, 43),
    workload({
      name: 'IdP outage (10 min)',
      durationS: SPIKE_TOTAL,
      seed: 47,
      events: [{ idpDown: true, fromS: SPIKE_AT, toS: SPIKE_AT + SPIKE_FOR }],
      expected: [{ alertname: 'idp', labels: {} }],
    }),
  ];
}
