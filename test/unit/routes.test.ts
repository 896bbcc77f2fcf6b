import { describe, expect, test } from 'vitest';
import { RouteTable } from '../../src/policy/routes.js';
import { validateConfig } from '../../src/config/load.js';

function table(routes: unknown[], defaultRoute: 'authenticate' | 'deny' = 'authenticate') {
  const config = validateConfig({ issuers: [{ issuer: 'https://idp.example.com', audiences: ['a'] }], routes, defaultRoute }, 'test');
  return new RouteTable(config);
}

describe('RouteTable', () => {
  const routes = table([
    { path: '/healthz', public: true },
    { path: '/api/orders/**', methods: ['GET'], scopes: ['read:orders'] },
    { path: '/api/orders/**', methods: ['POST'], scopes: ['write:orders'] },
    { path: '/api/*/items', scopes: ['items'] },
    { path: '/files/**/meta', scopes: ['meta'] },
    { path: '/admin/**', deny: true },
  ]);

  test.each([
    ['GET', '/healthz', 0],
    ['GET', '/healthz/', 0],
    ['GET', '/healthzz', -1],
    ['GET', '/api/orders', 1],
    ['GET', '/api/orders/1/lines', 1],
    ['POST', '/api/orders/1', 2],
    ['DELETE', '/api/orders/1', -1],
    ['GET', '/api/ordersx', -1],
    ['GET', '/api/x/items', 3],
    ['GET', '/api/x/y/items', -1],
    ['GET', '/files/meta', 4],
    ['GET', '/files/a/b/c/meta', 4],
    ['GET', '/files/a/b/c/meta/x', -1],
    ['GET', '/admin', 5],
    ['GET', '/', -1],
  ])('%s %s matches route %i', (method, path, index) => {
    expect(routes.match(method, path).index).toBe(index);
  });

  test('first match wins and carries its scopes and enforcement', () => {
    const rule = routes.match('GET', '/api/orders/9');
    expect(rule).toMatchObject({ scopes: ['read:orders'], scopeChallenge: 'read:orders', enforcement: 'enforce', public: false });
  });

  test('the default route follows defaultRoute', () => {
    expect(table([], 'deny').match('GET', '/x')).toMatchObject({ index: -1, deny: true });
    expect(table([]).match('GET', '/x')).toMatchObject({ index: -1, deny: false });
  });

  test('a lone ** matches every path', () => {
    expect(table([{ path: '/**', scopes: ['s'] }]).match('GET', '/').index).toBe(0);
  });
});
