/**
 * The `error` label of oauth_error_total: the error codes of the OAuth/OIDC specifications and of Keycloak,
 * anything else is `other`. An IdP's error field is free text in principle; a fixed set keeps the series bounded.
 */

/** RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; OpenID Connect Core 1.0 §3.1.2.6. */
const OAUTH_CORE = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
  'unsupported_response_type',
  'server_error',
  'temporarily_unavailable',
  'invalid_token',
  'insufficient_scope',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
];

/**
 * Extensions an IdP answers with at its token endpoint: RFC 7009 (revocation), RFC 7591 (registration),
 * RFC 8628 (device flow), RFC 8707 (resource indicators), RFC 9449 (DPoP).
 */
const OAUTH_EXTENSIONS = [
  'unsupported_token_type',
  'invalid_redirect_uri',
  'invalid_client_metadata',
  'invalid_software_statement',
  'unapproved_software_statement',
  'authorization_pending',
  'slow_down',
  'expired_token',
  'invalid_target',
  'invalid_dpop_proof',
  'use_dpop_nonce',
];

/** org.keycloak.events.Errors: the `error` of Keycloak's *_ERROR events. */
const KEYCLOAK = [
  'realm_disabled',
  'client_not_found',
  'client_disabled',
  'invalid_client_credentials',
  'consent_denied',
  'resolve_required_actions',
  'user_not_found',
  'user_disabled',
  'user_temporarily_disabled',
  'invalid_user_credentials',
  'different_user_authenticated',
  'user_delete_error',
  'username_missing',
  'username_in_use',
  'email_in_use',
  'invalid_code',
  'invalid_token_type',
  'invalid_saml_response',
  'invalid_authn_request',
  'invalid_logout_request',
  'invalid_logout_response',
  'invalid_artifact',
  'invalid_artifact_response',
  'saml_token_not_found',
  'invalid_signature',
  'invalid_registration',
  'invalid_issuer',
  'invalid_form',
  'invalid_config',
  'expired_code',
  'invalid_input',
  'cookie_not_found',
  'registration_disabled',
  'reset_credential_disabled',
  'rejected_by_user',
  'not_allowed',
  'federated_identity_account_exists',
  'ssl_required',
  'user_session_not_found',
  'session_expired',
  'email_send_failed',
  'invalid_email',
  'identity_provider_login_failure',
  'identity_provider_error',
  'password_confirm_error',
  'password_missing',
  'password_rejected',
  'code_verifier_missing',
  'invalid_code_verifier',
  'pkce_verification_failed',
  'invalid_code_challenge_method',
  'not_logged_in',
  'unknown_identity_provider',
  'illegal_origin',
  'display_unsupported',
  'logout_failed',
  'invalid_destination',
  'missing_required_destination',
  'invalid_saml_document',
  'unsupported_nameid_format',
  'invalid_permission_ticket',
  'invalid_oauth2_device_code',
  'expired_oauth2_device_code',
  'invalid_oauth2_user_code',
  'generic_authentication_error',
];

export const OTHER_ERROR = 'other';

const KNOWN_ERRORS: ReadonlySet<string> = new Set([...OAUTH_CORE, ...OAUTH_EXTENSIONS, ...KEYCLOAK]);

/** Every value the `error` label can take. */
export const ERROR_LABELS: readonly string[] = [...KNOWN_ERRORS, OTHER_ERROR];

export function errorLabel(code: string | undefined): string {
  return code !== undefined && KNOWN_ERRORS.has(code) ? code : OTHER_ERROR;
}

/** Keycloak errors that say the session the event names is gone: the session estimate drops it. */
export const SESSION_GONE_ERRORS: ReadonlySet<string> = new Set(['session_expired', 'user_session_not_found']);
