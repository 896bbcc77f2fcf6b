import type { IdpEventFormat } from '../../config/idp-events.js';
import type { LineParser } from '../event.js';
import { parseJsonlLine } from './jsonl.js';
import { parseKeycloakLine } from './keycloak.js';
import { parseOidcProviderLine } from './oidc-provider.js';


/** The parser for each `format` of an idpEvents source. */
export const PARSERS: Readonly<Record<IdpEventFormat, LineParser>> = {
  keycloak: parseKeycloakLine,
  jsonl: parseJsonlLine,
  'oidc-provider': parseOidcProviderLine,
};
