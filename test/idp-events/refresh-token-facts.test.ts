import { describe, expect, test } from 'vitest';
import { parseJsonlLine } from '../../src/idp-events/formats/jsonl.js';
import { parseKeycloakLine } from '../../src/idp-events/formats/keycloak.js';

/** What refresh-token reuse detection reads from each format: the id presented, and the IdP's reuse errors. */
describe('refresh-token facts', () => {
  test('jsonl: a refresh grant names the refresh token it presented', () => {
    const line = '{"event":"token_issued","client_id":"web","grant_type":"refresh_token","refresh_token_id":"rt-7"}';
    expect(parseJsonlLine(line)).toMatchObject({ outcome: 'issued', grantType: 'refresh_token', refreshTokenId: 'rt-7' });
  });

  test('jsonl: an oauth_error whose reason mentions reuse is a reused refresh token', () => {
    const line = '{"event":"oauth_error","error":"invalid_grant","client_id":"web","reason":"refresh token reuse detected"}';
    expect(parseJsonlLine(line)).toMatchObject({ outcome: 'error', refreshTokenReused: true });
  });

  test('jsonl: lines without these facts carry no such keys', () => {
    expect(parseJsonlLine('{"event":"oauth_error","error":"invalid_grant","client_id":"web"}')).toStrictEqual({
      outcome: 'error',
      error: 'invalid_grant',
      clientId: 'web',
      sessionId: undefined,
      timeMs: undefined,
    });
  });

  test('keycloak: a REFRESH_TOKEN event names its refresh_token_id, from the log message and from the JSON event', () => {
    const message = 'type="REFRESH_TOKEN", realmId="r1", clientId="web", userId="u1", ipAddress="10.0.0.1", refresh_token_id="8f1e", grant_type="refresh_token"';
    expect(parseKeycloakLine(message)).toMatchObject({ outcome: 'issued', refreshTokenId: '8f1e' });
    const json = '{"time":1741598200000,"type":"REFRESH_TOKEN","realmId":"r1","clientId":"web","details":{"refresh_token_id":"8f1e"}}';
    expect(parseKeycloakLine(json)).toMatchObject({ outcome: 'issued', refreshTokenId: '8f1e' });
  });

  test("keycloak: REFRESH_TOKEN_ERROR with Keycloak's reuse reason is a reused refresh token", () => {
    const message =
      'type="REFRESH_TOKEN_ERROR", realmId="r1", clientId="web", userId="u1", ipAddress="10.0.0.1", error="invalid_token", reason="Maximum allowed refresh token reuse exceeded"';
    expect(parseKeycloakLine(message)).toMatchObject({ outcome: 'error', error: 'invalid_token', refreshTokenReused: true });
  });
});
