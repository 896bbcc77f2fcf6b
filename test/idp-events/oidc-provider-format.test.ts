import { describe, expect, it } from 'vitest';
import { oidcProviderEventLine, parseOidcProviderLine } from '../../src/idp-events/formats/oidc-provider.js';
import { fixtureLines, readAll, tally } from './helpers.js';

describe('oidc-provider format: reading lines', () => {
  const results = readAll(parseOidcProviderLine, fixtureLines('oidc-provider.jsonl'));

  it('reads every line of the sample as parsed, ignored or malformed', () => {
    expect(tally(results)).toEqual({ parsed: 11, ignored: 1, malformed: 2 });
  });

  it('reads grant.success as an issuance with its grant type and session', () => {
    expect(results.slice(0, 4)).toEqual([
      { outcome: 'issued', grantType: 'client_credentials', clientId: 'orders', sessionId: undefined, session: undefined, timeMs: 1741598141733 },
      { outcome: 'issued', grantType: 'authorization_code', clientId: 'web', sessionId: 'n8Bq0mZcR1sT', session: 'active', timeMs: 1741598142000 },
      { outcome: 'issued', grantType: 'refresh_token', clientId: 'web', sessionId: 'n8Bq0mZcR1sT', session: 'active', timeMs: 1741598143000 },
      { outcome: 'issued', grantType: 'device_code', clientId: 'device-app', sessionId: 'Yq2Lw9pK3vXe', session: 'active', timeMs: 1741598144000 },
    ]);
  });

  it('reads *.error and server_error as OAuth errors', () => {
    const errors = results.flatMap((r) => (typeof r === 'object' && r.outcome === 'error' ? [r.error] : []));
    expect(errors).toEqual(['invalid_client', 'invalid_grant', 'login_required', 'server_error']);
  });

  it('reads end_session.success as a logout, ending the session only when the line names it (the session was destroyed)', () => {
    expect(results[8]).toEqual({ outcome: 'logout', clientId: 'web', sessionId: 'n8Bq0mZcR1sT', session: 'ended', timeMs: 1741598149000 });
    expect(results[9]).toEqual({ outcome: 'logout', clientId: 'web', sessionId: undefined, session: undefined, timeMs: 1741598150000 });
  });

  it('reads a destroyed token as a revocation', () => {
    expect(results[10]).toEqual({ outcome: 'revoked', clientId: 'web', timeMs: 1741598150500 });
  });
});

describe('oidc-provider format: writing lines (oidcProviderEventLine)', () => {
  const NOW = 1_750_000_000_000;

  it('writes grant.success with client, grant type, account and session uid', () => {
    const ctx = {
      oidc: {
        client: { clientId: 'web', clientSecret: 'never-this' },
        params: { grant_type: 'refresh_token', refresh_token: 'never-this-either', client_secret: 'nor-this' },
        entities: { RefreshToken: { sessionUid: 'uid-1', accountId: 'alice', jti: 'the-token-itself' } },
      },
    };
    expect(JSON.parse(oidcProviderEventLine('grant.success', ctx, undefined, NOW)!)).toEqual({
      event: 'grant.success',
      time: NOW,
      client_id: 'web',
      grant_type: 'refresh_token',
      account_id: 'alice',
      session_id: 'uid-1',
    });
  });

  it('writes grant.error with the OAuth error code and the client_id the request named', () => {
    const ctx = { oidc: { params: { grant_type: 'client_credentials', client_id: 'orders', client_secret: 'wrong' } } };
    const error = { error: 'invalid_client', error_description: 'client authentication failed', error_detail: 'secret mismatch' };
    expect(JSON.parse(oidcProviderEventLine('grant.error', ctx, error, NOW)!)).toEqual({
      event: 'grant.error',
      time: NOW,
      client_id: 'orders',
      grant_type: 'client_credentials',
      error: 'invalid_client',
    });
  });

  it('writes a session uid on end_session.success only when the session was destroyed', () => {
    const destroyed = { oidc: { client: { clientId: 'web' }, session: { uid: 'uid-1', jti: 'cookie-value', accountId: 'alice', destroyed: true } } };
    const kept = { oidc: { client: { clientId: 'web' }, session: { uid: 'uid-1', jti: 'cookie-value', accountId: 'alice' } } };
    expect(JSON.parse(oidcProviderEventLine('end_session.success', destroyed, undefined, NOW)!)).toMatchObject({ session_id: 'uid-1' });
    expect(JSON.parse(oidcProviderEventLine('end_session.success', kept, undefined, NOW)!)).not.toHaveProperty('session_id');
  });

  it('writes no line for token model events other than a revocable token destroyed', () => {
    const token = { jti: 'opaque-token-value', kind: 'AccessToken', clientId: 'web' };
    expect(oidcProviderEventLine('access_token.issued', token)).toBeUndefined();
    expect(oidcProviderEventLine('client_credentials.saved', token)).toBeUndefined();
    expect(oidcProviderEventLine('authorization_code.destroyed', token)).toBeUndefined();
  });

  it('writes a destroyed access, client credentials or refresh token with its client_id only, never the token', () => {
    const token = { jti: 'opaque-token-value', kind: 'RefreshToken', clientId: 'web', accountId: 'alice', grantId: 'grant-1' };
    for (const name of ['access_token.destroyed', 'client_credentials.destroyed', 'refresh_token.destroyed']) {
      expect(JSON.parse(oidcProviderEventLine(name, token, undefined, NOW)!)).toEqual({ event: name, time: NOW, client_id: 'web' });
    }
  });

  it('writes server_error for an error that is not an OAuth error code', () => {
    expect(JSON.parse(oidcProviderEventLine('grant.error', {}, new Error('Something <b>odd</b>'), NOW)!)).toMatchObject({ error: 'server_error' });
  });

  it('never throws, whatever the arguments', () => {
    const hostile = new Proxy({}, { get: () => { throw new Error('boom'); } });
    expect(oidcProviderEventLine('grant.success', hostile)).toMatch(/"grant.success"/);
    expect(oidcProviderEventLine('grant.error', null, hostile)).toMatch(/server_error/);
    expect(oidcProviderEventLine('grant.success', 42)).toMatch(/"grant.success"/);
  });

  it('cuts a very long client_id', () => {
    const line = oidcProviderEventLine('grant.success', { oidc: { client: { clientId: 'x'.repeat(10_000) } } }, undefined, NOW)!;
    expect((JSON.parse(line) as { client_id: string }).client_id).toHaveLength(256);
  });
});
