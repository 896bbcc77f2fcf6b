import { describe, expect, it } from 'vitest';
import { parseKeycloakLine } from '../../src/idp-events/formats/keycloak.js';
import { fixtureLines, readAll, tally } from './helpers.js';

const REALM = 'realmId="r1", realmName="prod"';

describe('keycloak format: plain log lines (jboss-logging event listener)', () => {
  const results = readAll(parseKeycloakLine, fixtureLines('keycloak-plain.txt'));

  it('reads every line of the sample as parsed, ignored or malformed', () => {
    expect(tally(results)).toEqual({ parsed: 15, ignored: 5, malformed: 1 });
  });

  it('maps the token-minting event types to grant types', () => {
    const issued = results.flatMap((r) => (typeof r === 'object' && r.outcome === 'issued' ? [[r.grantType, r.clientId]] : []));
    expect(issued).toEqual([
      ['authorization_code', 'web-portal'],
      ['client_credentials', 'orders-service'],
      ['client_credentials', 'billing-service'],
      ['password', 'admin-cli'],
      ['refresh_token', 'web-portal'],
      ['token_exchange', 'api-gateway'],
      ['authorization_code', 'legacy-app'],
    ]);
  });

  it('reads the error code of *_ERROR events, quoted or bare', () => {
    const errors = results.flatMap((r) => (typeof r === 'object' && r.outcome === 'error' ? [[r.error, r.clientId]] : []));
    expect(errors).toEqual([
      ['invalid_user_credentials', 'web-portal'],
      ['invalid_client_credentials', 'orders-service'],
      ['invalid_code', 'web-portal'],
      ['session_expired', 'mobile-app'],
      ['made_up_plugin_error', 'orders-api'],
      ['invalid_client_credentials', 'legacy-batch'],
    ]);
  });

  it('turns LOGIN, token events and LOGOUT into session activity and session end', () => {
    const sessions = results.flatMap((r) => (typeof r === 'object' && r.session ? [[r.session, r.sessionId?.slice(0, 4)]] : []));
    expect(sessions).toEqual([
      ['active', 'a3c1'], // LOGIN
      ['active', 'a3c1'], // CODE_TO_TOKEN
      ['active', 'b7c8'], // LOGIN (password grant)
      ['active', 'a3c1'], // REFRESH_TOKEN
      ['active', 'a3c1'], // TOKEN_EXCHANGE
      ['ended', 'c9d0'], // REFRESH_TOKEN_ERROR session_expired
      ['ended', 'a3c1'], // LOGOUT
    ]);
  });

  it('does not count a client_credentials grant as a user session', () => {
    const clientLogin = results[4];
    expect(clientLogin).toMatchObject({ outcome: 'issued', grantType: 'client_credentials', clientId: 'orders-service', session: undefined });
  });

  it('ignores admin events, events with no metric and other log lines', () => {
    expect([0, 1, 15, 16, 17].map((index) => results[index])).toEqual(['ignored', 'ignored', 'ignored', 'ignored', 'ignored']);
  });

  it('counts an event line cut off inside a quoted value as malformed', () => {
    expect(results[18]).toBe('malformed');
  });
});

describe('keycloak format: message details', () => {
  it('reads values written with quotes=none', () => {
    expect(parseKeycloakLine('type=CLIENT_LOGIN, realmId=r1, realmName=prod, clientId=svc, userId=u1, ipAddress=1.2.3.4')).toMatchObject({
      outcome: 'issued',
      grantType: 'client_credentials',
      clientId: 'svc',
    });
  });

  it("reads values quoted with ' (quotes=')", () => {
    expect(parseKeycloakLine(`type='LOGIN_ERROR', realmId='r1', clientId='web', userId='null', ipAddress='1.2.3.4', error='user_not_found'`)).toMatchObject({
      outcome: 'error',
      error: 'user_not_found',
      clientId: 'web',
    });
  });

  it('unescapes a quote inside a quoted value', () => {
    expect(parseKeycloakLine(`type="CODE_TO_TOKEN", ${REALM}, clientId="we\\"b", userId="u", ipAddress="x"`)).toMatchObject({ clientId: 'we"b' });
  });

  it('takes the word null for a missing value', () => {
    expect(parseKeycloakLine(`type="CLIENT_LOGIN_ERROR", ${REALM}, clientId="null", userId="null", ipAddress="x", error="client_not_found"`)).toMatchObject({
      outcome: 'error',
      clientId: undefined,
    });
  });

  it('does not take grant_type= or token_type= for the event type', () => {
    expect(parseKeycloakLine('2025-01-01 INFO [x] token_type=Bearer, realmId=r1')).toBe('ignored');
  });

  it('ignores a line that has type= but is not an event message', () => {
    expect(parseKeycloakLine('WARN [org.keycloak.services] KC-SERVICES0013: Failed authentication: type=invalid_user_credentials')).toBe('ignored');
  });

  it('counts an event whose type is not an event type name as malformed', () => {
    expect(parseKeycloakLine('type="login", realmId="r1", clientId="web"')).toBe('malformed');
  });

  it('stops at text after the last pair without spoiling the event', () => {
    expect(parseKeycloakLine(`type="CLIENT_LOGIN", ${REALM}, clientId="svc" java.lang.Exception: boom`)).toMatchObject({ outcome: 'issued', clientId: 'svc' });
  });

  it('counts LOGOUT without a sessionId as a logout that ends no session', () => {
    expect(parseKeycloakLine(`type="LOGOUT", ${REALM}, clientId="web", userId="u"`)).toEqual({ outcome: 'logout', clientId: 'web', sessionId: undefined, session: undefined, timeMs: undefined });
  });

  it('reads REVOKE_GRANT (the revocation endpoint, or a user revoking a client) as a revocation, not session activity', () => {
    expect(parseKeycloakLine(`type="REVOKE_GRANT", ${REALM}, clientId="mobile-app", userId="u", sessionId="s1", token_id="t1"`)).toEqual({
      outcome: 'revoked',
      clientId: 'mobile-app',
      timeMs: undefined,
    });
  });

  it('counts LOGIN through the browser flow as session activity only (the code exchange mints the tokens)', () => {
    expect(parseKeycloakLine(`type="LOGIN", ${REALM}, clientId="web", sessionId="s1", auth_method="openid-connect"`)).toEqual({
      outcome: 'session',
      clientId: 'web',
      sessionId: 's1',
      session: 'active',
      timeMs: undefined,
    });
  });
});

describe('keycloak format: JSON console log', () => {
  const results = readAll(parseKeycloakLine, fixtureLines('keycloak-json-console.jsonl'));

  it('reads events in the message of JSON log lines, default and ECS layouts', () => {
    expect(tally(results)).toEqual({ parsed: 4, ignored: 3, malformed: 1 });
    expect(results[1]).toMatchObject({ outcome: 'issued', grantType: 'authorization_code', clientId: 'web-portal' });
    expect(results[6]).toMatchObject({ outcome: 'issued', grantType: 'refresh_token', session: 'active' });
  });

  it("takes the event time from the log line's timestamp, with its zone", () => {
    expect(results[1]).toMatchObject({ timeMs: Date.parse('2025-03-10T09:15:41.733Z') });
    expect(results[2]).toMatchObject({ timeMs: Date.parse('2025-03-10T08:16:03.010Z') });
    expect(results[6]).toMatchObject({ timeMs: Date.parse('2025-03-10T09:19:00.250Z') });
  });
});

describe('keycloak format: JSON event-listener events', () => {
  const results = readAll(parseKeycloakLine, fixtureLines('keycloak-json-events.jsonl'));

  it('reads Keycloak event representations', () => {
    expect(tally(results)).toEqual({ parsed: 6, ignored: 1, malformed: 2 });
    expect(results.slice(0, 6)).toEqual([
      { outcome: 'issued', grantType: 'authorization_code', clientId: 'web-portal', sessionId: 'e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b', session: 'active', timeMs: 1741598141733 },
      { outcome: 'issued', grantType: 'refresh_token', clientId: 'web-portal', sessionId: 'e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b', session: 'active', timeMs: 1741598200000 },
      { outcome: 'issued', grantType: 'client_credentials', clientId: 'orders-service', sessionId: undefined, session: undefined, timeMs: 1741598210000 },
      { outcome: 'error', error: 'invalid_token', clientId: 'mobile-app', sessionId: undefined, session: undefined, timeMs: 1741598220000 },
      { outcome: 'logout', clientId: 'web-portal', sessionId: 'e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b', session: 'ended', timeMs: 1741598230000 },
      { outcome: 'revoked', clientId: 'mobile-app', timeMs: 1741598235000 },
    ]);
  });
});
