import { closest, distance } from 'fastest-levenshtein';
import { z } from 'zod';

/**
 * "Did you mean": the key a misspelt one was most likely meant to be, among the keys its object accepts. A key that
 * differs only in case, or by a few edits for its length, is suggested; anything further is left unexplained
 * rather than guessed at.
 */
export function suggestKey(schema: z.ZodType, objectPath: readonly PropertyKey[], unknownKey: string): string | undefined {
  const known = keysAt(schema, objectPath);
  if (known.length === 0) return undefined;
  const sameButCase = known.find((key) => key.toLowerCase() === unknownKey.toLowerCase());
  if (sameButCase !== undefined) return sameButCase;
  const nearest = closest(unknownKey, known);
  return distance(unknownKey, nearest) <= Math.max(2, Math.floor(unknownKey.length / 4)) ? nearest : undefined;
}

/** The keys the object schema at `path` accepts (none when the path does not lead to an object schema). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType | undefined = schema;
  for (const part of path) {
    current = child(unwrap(current), part);
    if (current === undefined) return [];
  }
  const target = unwrap(current);
  return target instanceof z.ZodObject ? Object.keys(target.shape) : [];
}

function child(schema: z.ZodType, part: PropertyKey): z.ZodType | undefined {
  if (schema instanceof z.ZodObject && typeof part === 'string') return (schema.shape as Record<string, z.ZodType>)[part];
  if (schema instanceof z.ZodArray && typeof part === 'number') return schema.element as z.ZodType;
  if (schema instanceof z.ZodRecord) return schema.valueType as z.ZodType;
  return undefined;
}

/** The schema under defaults, optionals and transforms: the shape the YAML is written against. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return current;
  }
}
