import { METRICS } from '../../src/observability/catalog/metrics.js';
import { CONFIG } from '../config.js';
import { is, num } from '../promql.js';
import { RECORDED } from '../rules/recording.js';
import { FILTER, type DashboardSpec } from './build.js';
import { rateBy, sel } from './queries.js';

const events = [FILTER.namespace, FILTER.issuer, FILTER.clientId];
const recorded = `${FILTER.namespace}, ${FILTER.issuer}, ${FILTER.clientId}`;

export const clientActivity: DashboardSpec = {
  uid: 'tokenwatch-client-activity',
  title: 'tokenwatch / Client Activity',
  description: 'Which clients get tokens, for which scopes, and which of them behave unusually.',
  rows: [
    {
      title: 'Clients',
      panels: [
        {
          kind: 'timeseries',
          title: 'Token issuance by client',
          description: 'Tokens minted per second by client and grant type, from the IdP event log. Clients beyond metrics.clientIdTopN show as other.',
          unit: 'cps',
          queries: [{ expr: rateBy(['client_id', 'grant_type'], sel(METRICS.tokenIssuance, events)), legend: '{{client_id}} {{grant_type}}' }],
          alerts: ['UnusualTokenIssuance'],
        },
        {
          kind: 'bargauge',
          title: 'Top clients now',
          description: 'The ten clients minting the most tokens at the moment, tokens per second.',
          unit: 'cps',
          queries: [{ expr: `topk(10, ${rateBy(['client_id'], sel(METRICS.tokenIssuance, events))})`, legend: '{{client_id}}' }],
        },
        {
          kind: 'timeseries',
          title: 'Issuance: last 15 minutes against the last hour',
          description: `Each client's issuance rate over 15 minutes and over the hour (fleet recording rules). UnusualTokenIssuance fires when the 15-minute rate is above ${num(CONFIG.issuance.spikeFactor)} times the rate of the hour before it and above ${num(CONFIG.issuance.minRate)} tokens/s.`,
          unit: 'cps',
          queries: [
            { expr: `${RECORDED.issuanceRate15m}{${recorded}}`, legend: '15m {{client_id}} {{grant_type}}' },
            { expr: `${RECORDED.issuanceRate1h}{${recorded}}`, legend: '1h {{client_id}} {{grant_type}}' },
          ],
          alerts: ['UnusualTokenIssuance'],
        },
        {
          kind: 'timeseries',
          title: 'OAuth errors by client',
          description: 'Errors the IdP answered per second, by client and error code.',
          unit: 'cps',
          queries: [{ expr: rateBy(['client_id', 'error'], sel(METRICS.oauthErrors, events)), legend: '{{client_id}} {{error}}' }],
          alerts: ['OAuthInvalidGrantSpike'],
        },
      ],
    },
    {
      title: 'Scopes',
      panels: [
        {
          kind: 'bargauge',
          title: 'Scope distribution',
          description: 'Validated tokens per second carrying each scope the routes name (the rest as other).',
          unit: 'reqps',
          queries: [{ expr: rateBy(['scope'], sel(METRICS.tokenValidationScope, [FILTER.namespace, FILTER.pod])), legend: '{{scope}}' }],
        },
        {
          kind: 'timeseries',
          title: 'Insufficient scope',
          description: 'Validations refused per second because the token lacked a scope the route requires, by issuer: a client asking for too little, or probing. Exemplars link to the validation span when tracing is on.',
          unit: 'reqps',
          queries: [
            {
              expr: rateBy(['issuer'], sel(METRICS.tokenValidationFailure, [FILTER.namespace, FILTER.pod, FILTER.issuer, is(METRICS.tokenValidationFailure, 'reason', 'insufficient_scope')])),
              legend: '{{issuer}}',
              exemplar: true,
            },
          ],
        },
      ],
    },
  ],
};
