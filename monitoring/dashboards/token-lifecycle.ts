import { ERROR_LABELS } from '../../src/idp-events/error-codes.js';
import { GRANT_TYPE_LABELS } from '../../src/idp-events/grant-types.js';
import { METRICS } from '../../src/observability/catalog/metrics.js';
import { is, isOneOf } from '../promql.js';
import { FILTER, type DashboardSpec } from './build.js';
import { quantiles, rateBy, sel } from './queries.js';

const validated = [FILTER.namespace, FILTER.pod, FILTER.issuer];
const events = [FILTER.namespace, FILTER.issuer, FILTER.clientId];

export const tokenLifecycle: DashboardSpec = {
  uid: 'tokenwatch-token-lifecycle',
  title: 'tokenwatch / Token Lifecycle',
  description: 'How long tokens live, how old they are when used, how often clients refresh, logouts and revocations, and the sessions behind them.',
  rows: [
    {
      title: 'Tokens',
      panels: [
        {
          kind: 'timeseries',
          title: 'Token lifetime (exp - iat)',
          description: 'Median and p90 lifetime of the tokens validated, per issuer. Long-lived access tokens are a risk if leaked: 5 to 15 minutes is typical.',
          unit: 's',
          queries: quantiles([0.5, 0.9], ['issuer'], METRICS.tokenLifetime, validated),
        },
        {
          kind: 'timeseries',
          title: 'Token age at first validation (now - iat)',
          description: 'Median and p99 age of tokens the first time a replica sees them. Negative ages are clock drift between IdP and pod; very old ones token reuse.',
          unit: 's',
          queries: quantiles([0.5, 0.99], ['issuer'], METRICS.tokenAge, validated),
        },
        {
          kind: 'timeseries',
          title: 'Expired tokens presented',
          description: 'Validations refused because the token had expired, per second: clients that do not refresh in time. Exemplars link to the validation span when tracing is on.',
          unit: 'reqps',
          queries: [
            {
              expr: rateBy(['issuer'], sel(METRICS.tokenValidationFailure, [...validated, is(METRICS.tokenValidationFailure, 'reason', 'expired')])),
              legend: '{{issuer}}',
              exemplar: true,
            },
          ],
        },
      ],
    },
    {
      title: 'Refresh and sessions (IdP event logs)',
      panels: [
        {
          kind: 'timeseries',
          title: 'Refresh rate',
          description: 'Tokens minted through the refresh_token grant per second, by client.',
          unit: 'cps',
          queries: [
            {
              expr: rateBy(['client_id'], sel(METRICS.tokenIssuance, [...events, isOneOf(METRICS.tokenIssuance, 'grant_type', GRANT_TYPE_LABELS, 'refresh_token')])),
              legend: '{{client_id}}',
            },
          ],
        },
        {
          kind: 'timeseries',
          title: 'Revoked or reused grants',
          description: 'invalid_grant answers per second by client: a refresh token used after it was rotated or revoked, or a code used twice.',
          unit: 'cps',
          queries: [
            {
              expr: rateBy(['client_id'], sel(METRICS.oauthErrors, [...events, isOneOf(METRICS.oauthErrors, 'error', ERROR_LABELS, 'invalid_grant')])),
              legend: '{{client_id}}',
            },
          ],
          alerts: ['OAuthInvalidGrantSpike'],
        },
        {
          kind: 'timeseries',
          title: 'Logouts and revocations',
          description:
            'Logouts and token or grant revocations per second at the IdP, per issuer, from its event log. A wave of logouts explains a drop of active sessions; a burst of revocations is an incident response or a compromised client.',
          unit: 'cps',
          queries: [
            { expr: rateBy(['issuer'], sel(METRICS.oauthLogouts, events)), legend: 'logouts {{issuer}}' },
            { expr: rateBy(['issuer'], sel(METRICS.oauthTokenRevocations, events)), legend: 'revocations {{issuer}}' },
          ],
        },
        {
          kind: 'timeseries',
          title: 'Active sessions',
          description: 'Estimated sessions in use per issuer: distinct sessions with activity within the idle timeout, minus logouts. A sudden drop is a logout wave (see Logouts and revocations) or an IdP restart.',
          unit: 'short',
          queries: [{ expr: `sum by (issuer) (${sel(METRICS.activeSessions, [FILTER.namespace, FILTER.issuer])})`, legend: '{{issuer}}' }],
        },
      ],
    },
  ],
};
