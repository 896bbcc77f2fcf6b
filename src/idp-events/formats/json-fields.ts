/** Reading fields of a JSON line without trusting its shape: every accessor answers undefined for a wrong type. */

export type JsonObject = Readonly<Record<string, unknown>>;

/** The line as a JSON object, or undefined when it is not JSON or is JSON but not an object. */
export function parseJsonObject(line: string): JsonObject | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

export function stringField(object: JsonObject, key: string): string | undefined {
  const value = object[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function objectField(object: JsonObject, key: string): JsonObject | undefined {
  const value = object[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

/** Below this a number is taken for Unix seconds, above it for milliseconds (1e11 s is the year 5138). */
const SECONDS_LIMIT = 1e11;

/** A time as Unix ms from epoch seconds, epoch milliseconds or an ISO 8601 string with its zone. */
export function timeField(object: JsonObject, key: string): number | undefined {
  const value = object[key];
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) return undefined;
    return value < SECONDS_LIMIT ? value * 1000 : value;
  }
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}
