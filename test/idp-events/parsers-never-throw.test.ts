import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FORMATS } from '../../src/config/idp-events.js';
import { PARSERS } from '../../src/idp-events/formats/index.js';
import { fixtureLines } from './helpers.js';

const SAMPLE_LINES = [
  ...fixtureLines('keycloak-plain.txt'),
  ...fixtureLines('keycloak-json-console.jsonl'),
  ...fixtureLines('keycloak-json-events.jsonl'),
  ...fixtureLines('seed.jsonl'),
  ...fixtureLines('oidc-provider.jsonl'),
];

/** Arbitrary text, plus real lines cut, spliced and salted with the characters the parsers care about. */
const lines = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.string({ unit: fc.constantFrom('t', 'y', 'p', 'e', '=', '"', "'", '\\', ',', ' ', 'r', 'I', 'd', '{', '}', ':', 'A', '_'), maxLength: 200 }),
  fc.tuple(fc.constantFrom(...SAMPLE_LINES), fc.nat(), fc.nat(), fc.string({ maxLength: 20 })).map(([line, cut, at, insert]) => {
    const end = cut % (line.length + 1);
    const position = at % (end + 1);
    return line.slice(0, position) + insert + line.slice(position, end);
  }),
  fc.json().map((json) => json),
);

describe('parsers', () => {
  for (const format of FORMATS) {
    it(`${format}: never throws and always answers parsed, ignored or malformed`, () => {
      fc.assert(
        fc.property(lines, (line) => {
          const result = PARSERS[format](line);
          expect(result === 'ignored' || result === 'malformed' || (typeof result === 'object' && result !== null)).toBe(true);
        }),
        { numRuns: 3000 },
      );
    });
  }
});
