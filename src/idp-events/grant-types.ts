/**
 * The `grant_type` label: a fixed set, so a client sending made-up grant types cannot grow the series count.
 * Keys are what IdPs write (RFC 6749 names and the extension-grant URNs); values are the label.
 */
const GRANT_TYPE_LABEL_BY_VALUE: ReadonlyMap<string, string> = new Map([
  ['authorization_code', 'authorization_code'],
  ['client_credentials', 'client_credentials'],
  ['refresh_token', 'refresh_token'],
  ['password', 'password'],
  ['implicit', 'implicit'],
  ['token_exchange', 'token_exchange'],
  ['urn:ietf:params:oauth:grant-type:token-exchange', 'token_exchange'],
  ['device_code', 'device_code'],
  ['urn:ietf:params:oauth:grant-type:device_code', 'device_code'],
  ['ciba', 'ciba'],
  ['urn:openid:params:grant-type:ciba', 'ciba'],
  ['jwt_bearer', 'jwt_bearer'],
  ['urn:ietf:params:oauth:grant-type:jwt-bearer', 'jwt_bearer'],
  ['saml2_bearer', 'saml2_bearer'],
  ['urn:ietf:params:oauth:grant-type:saml2-bearer', 'saml2_bearer'],
  ['uma_ticket', 'uma_ticket'],
  ['urn:ietf:params:oauth:grant-type:uma-ticket', 'uma_ticket'],
  ['pre_authorized_code', 'pre_authorized_code'],
  ['urn:ietf:params:oauth:grant-type:pre-authorized_code', 'pre_authorized_code'],
]);

export const OTHER_GRANT_TYPE = 'other';

/** Every value the `grant_type` label can take. */
export const GRANT_TYPE_LABELS: readonly string[] = [...new Set(GRANT_TYPE_LABEL_BY_VALUE.values()), OTHER_GRANT_TYPE];

export function grantTypeLabel(value: string | undefined): string {
  return (value !== undefined && GRANT_TYPE_LABEL_BY_VALUE.get(value)) || OTHER_GRANT_TYPE;
}
