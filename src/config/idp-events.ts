import { resolve } from 'node:path';
import { z } from 'zod';
import { duration } from './types.js';

/** The `format` key of an idpEvents source: idp-events/formats/ has a parser for each. */
export const FORMATS = ['keycloak', 'jsonl', 'oidc-provider'] as const;
export type IdpEventFormat = (typeof FORMATS)[number];

/** One `idpEvents` entry: a file to follow, how to read it, and the issuer its metrics are labelled with. */
export const idpEventSourceSchema = z
  .object({
    path: z.string().min(1, 'expected the path of the IdP event log file'),
    format: z.enum(FORMATS, { message: `expected one of ${FORMATS.join(', ')}` }),
    /** Only a label: the metrics say which IdP an event came from. */
    issuer: z.string().min(1).max(256),
    /** false: start at the end of an existing file, like tail -F; a file created later is always read whole. */
    fromBeginning: z.boolean().default(false),
    /** A session with no activity for this long leaves the active-sessions estimate. */
    sessionIdleTimeout: duration('30m').refine((ms) => ms > 0, { message: 'must be longer than 0' }),
  })
  .strict();

export type IdpEventSourceConfig = z.output<typeof idpEventSourceSchema>;

/** The whole `idpEvents` list: also refuses a file named twice (each of its lines would be counted twice). */
export const idpEventSourcesSchema = z.array(idpEventSourceSchema).superRefine((sources, ctx) => {
  sources.forEach((source, index) => {
    const first = sources.findIndex((other) => resolve(other.path) === resolve(source.path));
    if (first !== index) ctx.addIssue({ code: 'custom', path: [index, 'path'], message: `duplicates idpEvents[${first}].path` });
  });
});
