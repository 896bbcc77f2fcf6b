/**
 * Reads the message Keycloak's `jboss-logging` event listener writes (JBossLoggingEventListenerProvider):
 *
 *   type="CODE_TO_TOKEN", realmId="…", realmName="…", clientId="…", userId="…", sessionId="…", ipAddress="…", grant_type="…"
 *
 * Since Keycloak 23 values are quoted (`quotes`, default `"`, embedded quotes escaped with a backslash) and
 * `sessionId` is present when known; older releases and `quotes=none` write bare values, and older releases
 * quote a detail value with `'` only when it contains a space. A missing value is written as the word null.
 * The message starts with `type=` and its second pair is always `realmId=`: that pair is how an event line is
 * told apart from any other log line that happens to contain "type=".
 *
 * Hand-written scanner, not a regex: this runs once per log line, and the log is mostly not events.
 */

export interface KeycloakFields {
  type: string;
  clientId: string | undefined;
  sessionId: string | undefined;
  error: string | undefined;
  grantType: string | undefined;
  /** details.refresh_token_id: the refresh token a REFRESH_TOKEN event presented. */
  refreshTokenId: string | undefined;
  /** details.reason: why an *_ERROR event failed, e.g. "Maximum allowed refresh token reuse exceeded". */
  reason: string | undefined;
}

/** `not_event`: the line is not an event message. `malformed`: it starts like one but cannot be read. */
export type MessageResult = KeycloakFields | 'not_event' | 'malformed';

const TYPE_KEY = 'type=';
const REALM_PAIR = ', realmId=';
const PAIR_SEPARATOR = ', ';
const NULL_VALUE = 'null';
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;

/** Where `type=` starts as a key of its own (not the tail of `grant_type=` or `token_type=`), or -1. */
function findTypeKey(text: string): number {
  let from = 0;
  for (;;) {
    const at = text.indexOf(TYPE_KEY, from);
    if (at <= 0) return at;
    if (!isKeyChar(text.charCodeAt(at - 1))) return at;
    from = at + TYPE_KEY.length;
  }
}

function isKeyChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x5f || // _
    code === 0x2d || // -
    code === 0x2e // .
  );
}

/** Keycloak event type names are upper-case Java enum constants (LOGIN, CODE_TO_TOKEN_ERROR). */
export function isEventTypeName(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!((code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f)) return false;
  }
  return true;
}

export function parseKeycloakMessage(text: string): MessageResult {
  const start = findTypeKey(text);
  if (start < 0) return 'not_event';
  const fields: KeycloakFields = { type: '', clientId: undefined, sessionId: undefined, error: undefined, grantType: undefined, refreshTokenId: undefined, reason: undefined };
  const length = text.length;
  let keyStart = start;
  let isFirstPair = true;

  while (keyStart < length) {
    const equals = text.indexOf('=', keyStart);
    if (equals < 0) break;
    for (let i = keyStart; i < equals; i++) {
      // Trailing text after the pairs (an exception, a formatter's suffix) ends the scan, it does not spoil the event.
      if (!isKeyChar(text.charCodeAt(i))) return isFirstPair ? 'not_event' : fields;
    }

    let value: string;
    let next: number;
    const opening = text.charCodeAt(equals + 1);
    if (opening === DOUBLE_QUOTE || opening === SINGLE_QUOTE) {
      const closing = findClosingQuote(text, equals + 2, opening);
      if (closing < 0) return isFirstPair ? 'not_event' : 'malformed';
      value = text.slice(equals + 2, closing);
      if (value.indexOf('\\') >= 0) value = unescapeQuotes(value, opening);
      next = closing + 1;
    } else {
      const separator = text.indexOf(PAIR_SEPARATOR, equals + 1);
      next = separator < 0 ? length : separator;
      value = text.slice(equals + 1, next);
    }

    if (isFirstPair) {
      if (!text.startsWith(REALM_PAIR, next)) return 'not_event';
      if (!isEventTypeName(value)) return 'malformed';
      fields.type = value;
      isFirstPair = false;
    } else {
      assignField(fields, text, keyStart, equals - keyStart, value);
    }

    if (!text.startsWith(PAIR_SEPARATOR, next)) break;
    keyStart = next + PAIR_SEPARATOR.length;
  }
  return isFirstPair ? 'not_event' : fields;
}

function findClosingQuote(text: string, from: number, quote: number): number {
  const quoteChar = quote === DOUBLE_QUOTE ? '"' : "'";
  let at = text.indexOf(quoteChar, from);
  // Keycloak escapes the quote character inside a value with a backslash (StringUtil.sanitizeSpacesAndQuotes).
  while (at > 0 && text.charCodeAt(at - 1) === BACKSLASH) at = text.indexOf(quoteChar, at + 1);
  return at;
}

const ESCAPED_DOUBLE_QUOTE = /\\"/g;
const ESCAPED_SINGLE_QUOTE = /\\'/g;

function unescapeQuotes(value: string, quote: number): string {
  return quote === DOUBLE_QUOTE ? value.replace(ESCAPED_DOUBLE_QUOTE, '"') : value.replace(ESCAPED_SINGLE_QUOTE, "'");
}

/** Keeps only the keys the metrics use; comparing in place avoids slicing every key of every line. */
function assignField(fields: KeycloakFields, text: string, keyStart: number, keyLength: number, value: string): void {
  const present = value === NULL_VALUE || value === '' ? undefined : value;
  switch (keyLength) {
    case 5:
      if (text.startsWith('error', keyStart)) fields.error = present;
      break;
    case 6:
      if (text.startsWith('reason', keyStart)) fields.reason = present;
      break;
    case 8:
      if (text.startsWith('clientId', keyStart)) fields.clientId = present;
      break;
    case 9:
      if (text.startsWith('sessionId', keyStart)) fields.sessionId = present;
      break;
    case 10:
      if (text.startsWith('grant_type', keyStart)) fields.grantType = present;
      break;
    case 16:
      if (text.startsWith('refresh_token_id', keyStart)) fields.refreshTokenId = present;
      break;
  }
}
