import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { createClientSecrets, createSigningKey, type DemoClientSecrets, type SigningKey } from './embedded-idp.js';

/**
 * What `tokenwatch dev` keeps across runs in its state directory: the IdP's signing key and the demo clients'
 * secrets, so that a token from an earlier run still verifies and printed commands keep working. Dev-only material
 * on loopback, written readable by its owner alone; `--reset` deletes the directory and starts afresh.
 */
export interface DevState {
  signingKey: SigningKey;
  clientSecrets: DemoClientSecrets;
}

const STATE_FILE = 'idp-state.json';

const stateSchema = z.object({
  signingKey: z.object({ kid: z.string().min(1), privateJwk: z.looseObject({ kty: z.string(), d: z.string() }) }),
  clientSecrets: z.object({ orders: z.string().min(16), reporting: z.string().min(16) }),
});

/** The state kept in `dir` (created, owner-only, when missing), or a new one written there; `fresh` says which. */
export async function openDevState(dir: string, options: { reset: boolean }): Promise<{ state: DevState; fresh: boolean }> {
  if (options.reset) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, STATE_FILE);
  const kept = await readState(file);
  if (kept) return { state: kept, fresh: false };
  const state: DevState = { signingKey: await createSigningKey('RS256'), clientSecrets: createClientSecrets() };
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  return { state, fresh: true };
}

/** A missing or unreadable state file is replaced by a new state, as on a first run. */
async function readState(file: string): Promise<DevState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = stateSchema.safeParse(parsed);
  return result.success ? (result.data as DevState) : undefined;
}
