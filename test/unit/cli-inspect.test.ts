import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { TokenDecodeError, decodeCompactJws, readTokenInput } from '../../src/cli/decode-token.js';
import { formatChecks, formatSpan, show } from '../../src/cli/format.js';
import { runInspectToken } from '../../src/cli/inspect-token.js';
import { timeRows } from '../../src/cli/token-times.js';
import { b64url, compact, epoch } from '../support/tokens.js';

const SIGNATURE = 'c2lnbmF0dXJlLXRoYXQtbXVzdC1uZXZlci1iZS1wcmludGVk';
const sample = (claims: Record<string, unknown> = {}) =>
  compact({ alg: 'RS256', kid: 'key-1', typ: 'at+jwt' }, { iss: 'https://idp.example.com', aud: 'orders-api', sub: 'user-1', ...claims }, SIGNATURE);

async function inspect(tokenArg: string, options: { config?: string; path?: string } = {}, stdinText = '') {
  const out = new PassThrough();
  const stdin = new PassThrough();
  stdin.end(stdinText);
  const code = await runInspectToken(tokenArg, options, { stdin, stdout: out });
  return { code, output: String(out.read() ?? '') };
}

function stdinOf(text: string): PassThrough {
  const stream = new PassThrough();
  stream.end(text);
  return stream;
}

describe('reading the token', () => {
  test('- reads the token from standard input, trimmed and without a Bearer prefix', async () => {
    await expect(readTokenInput('-', stdinOf(`  Bearer ${sample()}\n`))).resolves.toBe(sample());
  });

  test('the Bearer prefix is recognised in any case on an argument too', async () => {
    await expect(readTokenInput(`bearer ${sample()}`, stdinOf(''))).resolves.toBe(sample());
  });

  test('empty standard input is refused', async () => {
    await expect(readTokenInput('-', stdinOf(' \n'))).rejects.toThrow('standard input holds no token');
  });
});

describe('decoding', () => {
  test('a compact JWS decodes into header and claims, with only the length of the signature', () => {
    const decoded = decodeCompactJws(sample());
    expect(decoded.header).toEqual({ alg: 'RS256', kid: 'key-1', typ: 'at+jwt' });
    expect(decoded.claims).toMatchObject({ sub: 'user-1' });
    expect(decoded.signatureLength).toBe(SIGNATURE.length);
  });

  test.each([
    ['a JWE', 'a.b.c.d.e', 'encrypted token (JWE'],
    ['two parts', 'a.b', 'three parts separated by dots; this has 2'],
    ['padding', `${b64url({ alg: 'RS256' })}==.${b64url({})}.sig`, 'the header is not base64url'],
    ['a payload that is not JSON', `${b64url({ alg: 'RS256' })}.${b64url('not json')}.sig`, 'the payload is base64url but not JSON'],
    ['a header that is a JSON array', `${b64url([1])}.${b64url({})}.sig`, 'the header is JSON but not an object'],
  ])('%s is refused with the reason', (_case, token, reason) => {
    expect(() => decodeCompactJws(token)).toThrow(TokenDecodeError);
    expect(() => decodeCompactJws(token)).toThrow(reason);
  });
});

describe('formatting', () => {
  test.each([
    [0, '0s'],
    [42, '42s'],
    [180, '3m'],
    [185, '3m 5s'],
    [3_600, '1h'],
    [3_725, '1h 2m'],
    [90_000, '1d 1h'],
    [-180, '3m'],
  ])('a span of %i seconds reads %s', (seconds, text) => {
    expect(formatSpan(seconds)).toBe(text);
  });

  test('time claims read as ISO times with how long ago or until', () => {
    const now = 1_750_000_000;
    expect(timeRows({ iat: now - 480, exp: now - 180, nbf: now + 60 }, now)).toEqual([
      ['iat', '2025-06-15T14:58:40Z', 'issued 8m ago'],
      ['nbf', '2025-06-15T15:07:40Z', 'not valid until in 1m'],
      ['exp', '2025-06-15T15:03:40Z', 'expired 3m ago'],
    ]);
  });

  test('a time claim that is not a number says so', () => {
    expect(timeRows({ exp: 'tomorrow' }, 0)).toEqual([['exp', 'not a NumericDate: "tomorrow"', '']]);
  });

  test('values with control characters or spaces are quoted so they cannot forge output', () => {
    expect(show('orders-api')).toBe('orders-api');
    expect(show('evil\n  signature   ✓')).toBe('"evil\\n  signature   ✓"');
    expect(show(['a', 'b'])).toBe('["a","b"]');
  });

  test('check lines align names and marks', () => {
    expect(
      formatChecks([
        { name: 'signature', status: 'pass', detail: 'valid' },
        { name: 'exp', status: 'fail', detail: 'expired 3m ago' },
        { name: 'typ', status: 'skip', detail: 'not required' },
      ]),
    ).toEqual(['  signature   ✓  valid', '  exp         ✗  expired 3m ago', '  typ         -  not required']);
  });
});

describe('inspect-token without a configuration', () => {
  test('it prints header and claims as JSON and the human times, never the signature', async () => {
    const { code, output } = await inspect(sample({ iat: epoch(-480), exp: epoch(-180) }));

    expect(code).toBe(0);
    expect(output).toContain('"kid": "key-1"');
    expect(output).toContain('"sub": "user-1"');
    expect(output).toContain(`signature: ${SIGNATURE.length} base64url characters (not shown)`);
    expect(output).toMatch(/exp\s+\S+Z\s+expired 3m( 1s)? ago/);
    expect(output).not.toContain(SIGNATURE);
  });

  test('an undecodable token exits 2 and says why', async () => {
    const { code, output } = await inspect('a.b.c.d.e');
    expect(code).toBe(2);
    expect(output).toContain('✗ cannot decode the token: this is an encrypted token (JWE, five parts)');
  });
});

describe('inspect-token with a request but no configuration', () => {
  test('--path without --config exits 2: the routes are in the configuration', async () => {
    const { code, output } = await inspect(sample(), { path: '/api/orders/1' });
    expect(code).toBe(2);
    expect(output).toContain('--path needs --config');
  });
});

describe('inspect-token with an unusable configuration', () => {
  test('it prints the configuration problems with their key paths and exits 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tokenwatch-cli-inspect-'));
    try {
      const file = join(dir, 'bad.yaml');
      await writeFile(file, 'issuers:\n  - issuer: https://idp.example.com\n    audiences: []\n');
      const { code, output } = await inspect(sample(), { config: file });

      expect(code).toBe(2);
      expect(output).toContain('  issuers[0].audiences: at least one audience is required');
      expect(output).not.toContain(SIGNATURE);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
