import { UNKNOWN_ISSUER, METRICS } from '../../src/observability/catalog/metrics.js';
import { is } from '../promql.js';
import { RECORDED } from '../rules/recording.js';
import { FILTER, type DashboardSpec } from './build.js';
import { quantileBy, rateBy, sel } from './queries.js';

const validations = [FILTER.namespace, FILTER.pod, FILTER.issuer];
const fleet = `${FILTER.namespace}, ${FILTER.issuer}, issuer!="${UNKNOWN_ISSUER}"`;

export const oauthHealth: DashboardSpec = {
  uid: 'tokenwatch-oauth-health',
  title: 'tokenwatch / OAuth/OIDC Health',
  description: 'Are tokens being issued and accepted? Validation success and failure, why tokens fail, and what the IdP mints.',
  rows: [
    {
      title: 'Validation',
      panels: [
        {
          kind: 'stat',
          title: 'Validation success ratio',
          description: 'Share of token validations that succeeded over the last 5 minutes, across every replica (the fleet view the alerts read), for configured issuers.',
          unit: 'percentunit',
          width: 6,
          max: 1,
          queries: [
            {
              expr: `1 - (sum(${RECORDED.validationRate}{${fleet}, ${is(METRICS.tokenValidation, 'result', 'failure')}}) / sum(${RECORDED.validationVolume}{${fleet}}))`,
              legend: 'success',
            },
          ],
          alerts: ['TokenValidationFailures'],
        },
        {
          kind: 'timeseries',
          title: 'Validation failure ratio by issuer',
          description: 'Failed validations over all validations per issuer, 5-minute rate across the fleet: exactly what TokenValidationFailures compares with 1% (warning) and 10% (critical).',
          unit: 'percentunit',
          width: 18,
          queries: [{ expr: `${RECORDED.validationFailureRatio}{${fleet}}`, legend: '{{issuer}}' }],
          alerts: ['TokenValidationFailures'],
        },
        {
          kind: 'timeseries',
          title: 'Validations by result',
          description: 'Token validations per second, successful and failed, for the selected pods and issuers.',
          unit: 'reqps',
          queries: [{ expr: rateBy(['result'], sel(METRICS.tokenValidation, validations)), legend: '{{result}}' }],
        },
        {
          kind: 'timeseries',
          title: 'Failures by reason',
          description:
            'Failed validations per second by reason. invalid_signature or disallowed_algorithm bursts are forged tokens; unknown_key a rotation or kid probing; expired a client that does not refresh; jwks_unavailable an IdP gone for longer than jwksMaxStale. Exemplars link to the validation span when tracing is on.',
          unit: 'reqps',
          queries: [{ expr: rateBy(['reason'], sel(METRICS.tokenValidationFailure, validations)), legend: '{{reason}}', exemplar: true }],
          alerts: ['ForgedTokenBurst', 'UnknownKeySpray'],
        },
        {
          kind: 'timeseries',
          title: 'Validation latency',
          description: 'p50 and p99 time to validate a token (extraction, cache, signature, claims, scopes). Exemplars link to the validation span when tracing is on.',
          unit: 's',
          queries: [
            { expr: quantileBy(0.5, [], sel(METRICS.tokenValidationDuration, [FILTER.namespace, FILTER.pod], 'bucket')), legend: 'p50' },
            { expr: quantileBy(0.99, [], sel(METRICS.tokenValidationDuration, [FILTER.namespace, FILTER.pod], 'bucket')), legend: 'p99', exemplar: true },
          ],
          alerts: ['TokenValidationLatencyHigh'],
        },
      ],
    },
    {
      title: 'Issuance (IdP event logs)',
      panels: [
        {
          kind: 'timeseries',
          title: 'Token issuance by grant type',
          description: 'Tokens minted by the IdP per second, by grant type, read from its event log.',
          unit: 'cps',
          queries: [{ expr: rateBy(['grant_type'], sel(METRICS.tokenIssuance, [FILTER.namespace, FILTER.issuer, FILTER.clientId])), legend: '{{grant_type}}' }],
          alerts: ['UnusualTokenIssuance'],
        },
        {
          kind: 'timeseries',
          title: 'OAuth errors by error code',
          description: 'Errors the IdP answered with, per second, by OAuth error code. A rise in invalid_grant is refresh-token reuse or stolen codes.',
          unit: 'cps',
          queries: [{ expr: rateBy(['error'], sel(METRICS.oauthErrors, [FILTER.namespace, FILTER.issuer, FILTER.clientId])), legend: '{{error}}' }],
          alerts: ['OAuthInvalidGrantSpike'],
        },
      ],
    },
  ],
};
