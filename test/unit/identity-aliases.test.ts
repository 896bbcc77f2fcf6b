import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { IdentityHeaderAliases, identitySpoof } from '../../src/server/gate/identity-aliases.js';

const aliases = new IdentityHeaderAliases(['x-auth-subject', 'remote-user', 'x_tenant']);

/** Every character RFC 9110 allows in a header name that is neither a letter nor a digit. */
const SEPARATORS = [..."!#$%&'*+-.^_`|~"];

describe('IdentityHeaderAliases', () => {
  test.each(['X_Auth_Subject', 'x_auth-subject', 'X-AUTH_SUBJECT', 'x.auth.subject', 'X_Auth_Anything', 'x+auth+', 'Remote_User', 'REMOTE.USER', 'x-tenant', 'X~Tenant'])(
    '%s is an alias of an identity header',
    (name) => expect(aliases.isAlias(name)).toBe(true),
  );

  test.each(['x-auth-subject', 'X-Auth-Subject', 'X-AUTH-ANYTHING', 'Remote-User', 'x_tenant', 'X_TENANT', 'x-auth', 'x_auth', 'X_Custom', 'remote-users', 'content-type', 'x', ''])(
    '%s is not an alias: it is an identity header itself, or unrelated',
    (name) => expect(aliases.isAlias(name)).toBe(false),
  );

  test('any spelling that differs from an identity header only in case and separators is an alias, unless it is that header', () => {
    const spelling = fc
      .tuple(fc.constantFrom('x-auth-subject', 'remote-user', 'x_tenant', 'x-auth-role'), fc.infiniteStream(fc.boolean()), fc.infiniteStream(fc.constantFrom(...SEPARATORS)))
      .map(([name, upper, separators]) => [...name].map((char) => (/[a-z0-9]/.test(char) ? (upper.next().value ? char.toUpperCase() : char) : separators.next().value)).join(''));
    fc.assert(
      fc.property(spelling, (name) => {
        const lower = name.toLowerCase();
        const identity = lower.startsWith('x-auth-') || lower === 'remote-user' || lower === 'x_tenant';
        expect(aliases.isAlias(name)).toBe(!identity);
      }),
    );
  });

  test('find returns the aliases among a raw header list in the order sent, and undefined when there are none', () => {
    expect(aliases.find(['Host', 'a', 'X_Auth_Subject', 'v', 'X-Auth-Subject', 'v', 'remote.user', 'v'])).toEqual(['X_Auth_Subject', 'remote.user']);
    expect(aliases.find(['Host', 'a', 'X-Auth-Subject', 'v', 'Accept', '*/*'])).toBeUndefined();
  });
});

describe('identitySpoof', () => {
  test('the report carries the path without its query, and a bounded number of bounded names', () => {
    const names = Array.from({ length: 20 }, (_, index) => `X_Auth_${'a'.repeat(100)}${index}`);
    const spoof = identitySpoof('proxy', 'GET', `/a?access_token=secret`, names);
    expect(spoof.path).toBe('/a');
    expect(spoof.headers).toHaveLength(8);
    for (const name of spoof.headers) expect(name.length).toBe(64);
  });
});
