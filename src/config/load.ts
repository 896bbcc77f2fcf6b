import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { suggestKey } from './key-suggestion.js';
import { configSchema, type Config } from './schema.js';
import { TokenwatchError } from '../errors.js';

export interface ConfigProblem {
  /** Key path such as `issuers[0].audiences`, or `(file)` for problems with the file itself. */
  path: string;
  message: string;
}

/** A configuration that cannot be used; carries every problem found, not only the first. */
export class ConfigError extends TokenwatchError {
  override readonly name = 'ConfigError';
  readonly code = 'ERR_CONFIG_INVALID';

  constructor(
    readonly source: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(`${source}: ${problems.map((problem) => `${problem.path}: ${problem.message.split('\n')[0]}`).join('; ')}`);
  }
}

/** Environment variables that override keys of the file (listen addresses and, later, secrets). */
export const ENV_OVERRIDES: ReadonlyArray<{ variable: string; key: keyof Config }> = [
  { variable: 'TOKENWATCH_LISTEN', key: 'listen' },
  { variable: 'TOKENWATCH_ADMIN', key: 'admin' },
  { variable: 'TOKENWATCH_LOG_LEVEL', key: 'logLevel' },
];

export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  return parseConfigText(await readConfigText(path), path, env);
}

/** The file's text, or a ConfigError saying why it cannot be read. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [{ path: '(file)', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }]);
  }
}

export function parseConfigText(text: string, source: string, env: NodeJS.ProcessEnv = process.env): Config {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      source,
      // Pretty errors end with the offending line and a caret under the column: kept whole.
      document.errors.map((error) => ({ path: '(yaml)', message: error.message })),
    );
  }
  const raw: unknown = document.toJS() ?? {};
  return validateConfig(applyEnvOverrides(raw, env), source);
}

export function validateConfig(raw: unknown, source: string): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, result.error.issues.flatMap(toProblems));
  return result.data;
}

function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const merged: Record<string, unknown> = { ...raw };
  for (const { variable, key } of ENV_OVERRIDES) {
    const value = env[variable];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  return merged;
}

/** One problem per issue; an object with unknown keys gives one problem per key, at the key's own path. */
function toProblems(issue: z.core.$ZodIssue): ConfigProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const suggestion = suggestKey(configSchema, issue.path, key);
      return { path: formatPath([...issue.path, key]), message: suggestion === undefined ? 'unknown key' : `unknown key; did you mean ${suggestion}?` };
    });
  }
  return [{ path: formatPath(issue.path) || '(root)', message: issue.message }];
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text ? `.${String(part)}` : String(part);
  }
  return text;
}
