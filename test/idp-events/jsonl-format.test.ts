import { describe, expect, it } from 'vitest';
import { parseJsonlLine } from '../../src/idp-events/formats/jsonl.js';
import { fixtureLines, readAll, tally } from './helpers.js';

describe('jsonl format (the seed event lines)', () => {
  const results = readAll(parseJsonlLine, fixtureLines('seed.jsonl'));

  it('reads every line of the sample as parsed, ignored or malformed', () => {
    expect(tally(results)).toEqual({ parsed: 9, ignored: 3, malformed: 4 });
  });

  it('counts one issuance per grant: the access-token line, not the refresh and id lines of the same response', () => {
    expect(results.slice(0, 3)).toEqual([
      { outcome: 'issued', grantType: 'authorization_code', clientId: 'my-service', sessionId: undefined, session: undefined, timeMs: undefined },
      'ignored',
      'ignored',
    ]);
  });

  it('labels grant-type URNs and unknown grant types from a fixed set', () => {
    expect(results[4]).toMatchObject({ grantType: 'jwt_bearer' });
    expect(results[5]).toMatchObject({ grantType: 'other' });
  });

  it('reads time in Unix seconds and timestamp in ISO 8601', () => {
    expect(results[4]).toMatchObject({ timeMs: 1741598141000 });
    expect(results[5]).toMatchObject({ timeMs: Date.parse('2025-03-10T09:15:41Z') });
  });

  it('reads oauth_error lines with their error code as written', () => {
    expect(results[6]).toMatchObject({ outcome: 'error', error: 'invalid_grant', clientId: 'my-service' });
    expect(results[7]).toMatchObject({ outcome: 'error', error: 'totally_custom_error' });
  });

  it('tracks sessions through session_id and the logout event', () => {
    expect(results[3]).toMatchObject({ sessionId: 's-1', session: 'active' });
    expect(results[9]).toEqual({ outcome: 'logout', clientId: 'batch-job', sessionId: 's-1', session: 'ended', timeMs: undefined });
  });

  it('reads a revocation, and a logout without session_id as a logout that ends no session', () => {
    expect(results[10]).toEqual({ outcome: 'revoked', clientId: 'my-service', timeMs: 1741598160000 });
    expect(results[11]).toEqual({ outcome: 'logout', clientId: 'my-service', sessionId: undefined, session: undefined, timeMs: undefined });
  });

  it("ignores the gateway's own token_validated lines", () => {
    expect(results[8]).toBe('ignored');
  });

  it('counts lines without an event field, non-objects, non-JSON and cut lines as malformed', () => {
    expect(results.slice(12)).toEqual(['malformed', 'malformed', 'malformed', 'malformed']);
  });

  it('ignores a blank line', () => {
    expect(parseJsonlLine('   ')).toBe('ignored');
  });
});
