import type { ParseResult } from '../event.js';
import { type JsonObject, objectField, parseJsonObject, stringField, timeField } from './json-fields.js';
import { keycloakEvent } from './keycloak-events.js';
import { isEventTypeName, type KeycloakFields, parseKeycloakMessage } from './keycloak-message.js';

/**
 * `format: keycloak` reads three shapes of line, all from a Keycloak server log or event file:
 *
 * 1. a plain log line with any prefix whose message is a jboss-logging event (see keycloak-message.ts);
 * 2. a line of Keycloak's JSON console log (`--log-console-output=json`, default or ECS layout) whose
 *    `message` is such an event;
 * 3. the JSON event of a JSON event-listener plugin: Keycloak's event representation
 *    (`{"time":…,"type":"REFRESH_TOKEN","clientId":…,"sessionId":…,"error":…,"details":{"grant_type":…}}`).
 *
 * A Keycloak log is mostly not events, so any other line is `ignored`; a line is `malformed` only when it
 * looks like an event (it mentions `type`) and cannot be read.
 */
export function parseKeycloakLine(line: string): ParseResult {
  if (line.charCodeAt(firstNonSpace(line)) === 0x7b /* { */) return parseJsonLine(line);
  const fields = parseKeycloakMessage(line);
  if (fields === 'not_event') return 'ignored';
  if (fields === 'malformed') return 'malformed';
  return keycloakEvent(fields, undefined);
}

function firstNonSpace(line: string): number {
  let i = 0;
  while (i < line.length && (line.charCodeAt(i) === 0x20 || line.charCodeAt(i) === 0x09)) i++;
  return i;
}

function parseJsonLine(line: string): ParseResult {
  // Most JSON log lines are not events: skip JSON.parse for them, it is the expensive part.
  if (line.indexOf('type=') < 0 && line.indexOf('"type"') < 0) return 'ignored';
  const object = parseJsonObject(line);
  if (object === undefined) return 'malformed';

  const message = stringField(object, 'message');
  if (message !== undefined) {
    const fields = parseKeycloakMessage(message);
    if (fields === 'not_event') return 'ignored';
    if (fields === 'malformed') return 'malformed';
    return keycloakEvent(fields, timeField(object, 'timestamp') ?? timeField(object, '@timestamp'));
  }
  const fields = eventRepresentationFields(object);
  if (fields === undefined) return 'ignored';
  if (!isEventTypeName(fields.type)) return 'malformed';
  return keycloakEvent(fields, timeField(object, 'time'));
}

/** Keycloak's EventRepresentation, as JSON event-listener plugins serialise it. Admin events have no `type`. */
function eventRepresentationFields(object: JsonObject): KeycloakFields | undefined {
  const type = stringField(object, 'type');
  if (type === undefined || (!('realmId' in object) && !('clientId' in object))) return undefined;
  const details = objectField(object, 'details');
  return {
    type,
    clientId: stringField(object, 'clientId'),
    sessionId: stringField(object, 'sessionId'),
    error: stringField(object, 'error'),
    grantType: details === undefined ? undefined : stringField(details, 'grant_type'),
    refreshTokenId: details === undefined ? undefined : stringField(details, 'refresh_token_id'),
    reason: details === undefined ? undefined : stringField(details, 'reason'),
  };
}
