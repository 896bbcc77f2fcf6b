import type { LineParser } from '../event.js';
import { parseJsonlLine } from './jsonl.js';
import { parseKeycloakLine } from './keycloak.js';
import { parseOidcProviderLine } from './oidc-provider.js';

/** The `format` key of an idpEvents source, and the parser for each. */
export const FORMATS = ['keycloak', 'jsonl', 'oidc-provider'] as const;
export type IdpEventFormat = (typeof FORMATS)[number];

export const PARSERS: Readonly<Record<IdpEventFormat, LineParser>> = {
  keycloak: parseKeycloakLine,
  jsonl: parseJsonlLine,
  'oidc-provider': parseOidcProviderLine,
};
