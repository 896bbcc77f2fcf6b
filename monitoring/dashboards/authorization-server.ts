import { IDP_FETCH_RESULTS, METRICS } from '../../src/observability/catalog/metrics.js';
import { is } from '../promql.js';
import { RECORDED } from '../rules/recording.js';
import { FILTER, type DashboardSpec } from './build.js';
import { quantiles, rateBy, sel } from './queries.js';

const perPod = [FILTER.namespace, FILTER.pod, FILTER.issuer];
const success = is(METRICS.jwksFetches, 'result', IDP_FETCH_RESULTS[0]);

export const authorizationServer: DashboardSpec = {
  uid: 'tokenwatch-authorization-server',
  title: 'tokenwatch / Authorization Server',
  description: 'The IdP as tokenwatch sees it: reachability, latency, errors, the JWKS cache, keys and their rotations, and how long stale keys stay usable.',
  rows: [
    {
      title: 'Reachability',
      panels: [
        {
          kind: 'stat',
          title: 'IdP reachable',
          description: 'Per issuer, 1 while at least one replica reached discovery and JWKS at its last probe (the fleet view AuthorizationServerDown reads), else 0.',
          unit: 'bool_yes_no',
          width: 8,
          queries: [{ expr: `${RECORDED.idpUp}{${FILTER.namespace}, ${FILTER.issuer}}`, legend: '{{issuer}}' }],
          alerts: ['AuthorizationServerDown'],
        },
        {
          kind: 'timeseries',
          title: 'IdP request latency',
          description: 'p50 and p99 time of discovery and JWKS requests to the IdP, per endpoint.',
          unit: 's',
          width: 16,
          queries: quantiles([0.5, 0.99], ['endpoint'], METRICS.idpRequestDuration, perPod),
        },
        {
          kind: 'timeseries',
          title: 'IdP fetch error rate',
          description: 'Share of discovery and JWKS fetches that failed (error, timeout, invalid), per issuer.',
          unit: 'percentunit',
          queries: [
            {
              expr: `1 - (${rateBy(['issuer'], sel(METRICS.jwksFetches, [...perPod, success]))} / ${rateBy(['issuer'], sel(METRICS.jwksFetches, perPod))})`,
              legend: '{{issuer}}',
            },
          ],
          alerts: ['AuthorizationServerDown'],
        },
        {
          kind: 'timeseries',
          title: 'IdP fetches by result',
          description: 'Discovery and JWKS fetches per second by result: error is network or HTTP status, timeout the fetch deadline, invalid a bad document.',
          unit: 'reqps',
          queries: [{ expr: rateBy(['result'], sel(METRICS.jwksFetches, perPod)), legend: '{{result}}' }],
        },
      ],
    },
    {
      title: 'Keys',
      panels: [
        {
          kind: 'timeseries',
          title: 'JWKS cache hit ratio',
          description: 'Share of key lookups that found a key for the token\'s kid and alg, per issuer. Below 90% (JWKSMissRateHigh) tokens are signed with keys the JWKS does not publish.',
          unit: 'percentunit',
          queries: [
            {
              expr: `1 - (${rateBy(['issuer'], sel(METRICS.jwksCacheMisses, perPod))} / ${rateBy(['issuer'], sel(METRICS.jwksCacheRequests, perPod))})`,
              legend: '{{issuer}}',
            },
          ],
          alerts: ['JWKSMissRateHigh'],
        },
        {
          kind: 'timeseries',
          title: 'Key age',
          description: 'Time since the keys last loaded, per pod and issuer. It grows past the max age only while the IdP is unreachable.',
          unit: 's',
          queries: [{ expr: `time() - ${sel(METRICS.jwksLastSuccess, perPod)}`, legend: '{{pod}} {{issuer}}' }],
          alerts: ['JWKSStale'],
        },
        {
          kind: 'timeseries',
          title: 'Key rotations',
          description: 'Keys added to and removed from the JWKS per second, per issuer: rotations made visible.',
          unit: 'ops',
          queries: [{ expr: rateBy(['issuer', 'change'], sel(METRICS.jwksKeyChanges, perPod)), legend: '{{issuer}} {{change}}' }],
        },
        {
          kind: 'timeseries',
          title: 'Keys in use',
          description: 'Verification keys each pod holds, per issuer.',
          unit: 'short',
          queries: [{ expr: `max by (issuer) (${sel(METRICS.jwksKeys, perPod)})`, legend: '{{issuer}}' }],
        },
      ],
    },
    {
      title: 'Stale keys',
      panels: [
        {
          kind: 'timeseries',
          title: 'Pods serving stale keys',
          description: 'Pods serving last-good keys past their max age, per issuer (stale-if-error while the IdP is unreachable).',
          unit: 'short',
          queries: [{ expr: `sum by (issuer) (${sel(METRICS.jwksStale, perPod)})`, legend: '{{issuer}}' }],
          alerts: ['JWKSStale', 'JWKSMaxStaleNear'],
        },
        {
          kind: 'timeseries',
          title: 'Time left on the last good keys',
          description: 'Until the last good keys stop being usable (last success + max age + jwksMaxStale), per pod and issuer. JWKSMaxStaleNear pages below one hour while the keys are stale.',
          unit: 's',
          queries: [{ expr: `${sel(METRICS.jwksUsableUntil, perPod)} - time()`, legend: '{{pod}} {{issuer}}' }],
          alerts: ['JWKSMaxStaleNear'],
        },
        {
          kind: 'timeseries',
          title: 'Throttled unknown-kid refetches',
          description: 'Refetches for an unknown kid refused by jwksCooldown, per second. A steady rise with unknown_key failures is kid probing (UnknownKeySpray).',
          unit: 'ops',
          queries: [{ expr: rateBy(['issuer'], sel(METRICS.jwksRefetchThrottled, perPod)), legend: '{{issuer}}' }],
          alerts: ['UnknownKeySpray'],
        },
      ],
    },
  ],
};
