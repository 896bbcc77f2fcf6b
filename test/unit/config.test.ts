import { describe, expect, test } from 'vitest';
import { ConfigError, parseConfigText } from '../../src/config/load.js';

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(yaml, 'test.yaml', env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((problem) => `${problem.path}: ${problem.message}`);
    throw error;
  }
  return [];
}

const minimal = 'issuers:\n  - issuer: https://idp.example.com/realms/prod\n    audiences: [orders-api]\n';

describe('configuration', () => {
  test('a minimal config gets every documented default', () => {
    const config = parseConfigText(minimal, 'test.yaml', {});
    expect(config).toMatchObject({
      mode: 'authz',
      listen: { host: '0.0.0.0', port: 8080 },
      admin: { host: '0.0.0.0', port: 9464 },
      defaultRoute: 'authenticate',
      enforcement: 'enforce',
      claimHeaders: { sub: 'x-auth-subject', client_id: 'x-auth-client-id', scope: 'x-auth-scopes' },
      tokenCache: { maxEntries: 10000 },
      limits: { tokenBytes: 8192, headerBytes: 16384, bodyBytes: 10485760, connections: 1024, upstreamConnections: 256 },
      authz: { pathPrefix: '', requestSource: 'auto' },
      allowQueryToken: false,
      routes: [],
    });
    expect(config.issuers[0]).toMatchObject({
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      clockTolerance: 30_000,
      maxTokenLifetime: 86_400_000,
      jwksCacheMaxAge: 600_000,
      jwksCooldown: 30_000,
      jwksMaxStale: 86_400_000,
      fetchTimeout: 5_000,
      requiredClaims: [],
      allowInsecureHttp: false,
    });
  });

  test('durations are honoured as given, seconds and milliseconds included', () => {
    const config = parseConfigText(`${minimal}    jwksCacheMaxAge: 2s\n    jwksCooldown: 250ms\n    clockTolerance: 0s\n`, 't', {});
    expect(config.issuers[0]).toMatchObject({ jwksCacheMaxAge: 2000, jwksCooldown: 250, clockTolerance: 0 });
  });

  test('every problem is reported with its key path', () => {
    expect(
      problems(`mode: sideways\nlisten: nowhere\nissuers:\n  - issuer: http://idp.example.com\n    audiences: []\n    algorithms: [HS256, none]\n    clockTolerance: 30\n    extra: 1\nroutes:\n  - path: /a*\n    public: true\n    scopes: [x]\nclaimHeaders: { sub: X-Upper }\n`),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^mode: /),
        expect.stringMatching(/^listen: expected host:port/),
        expect.stringMatching(/^issuers\[0\]\.audiences: at least one audience/),
        expect.stringMatching(/^issuers\[0\]\.algorithms\[0\]: .*HS\* and none are never accepted/),
        expect.stringMatching(/^issuers\[0\]\.algorithms\[1\]: /),
        expect.stringMatching(/^issuers\[0\]\.clockTolerance: /),
        expect.stringMatching(/^issuers\[0\]\.extra: unknown key$/),
        expect.stringMatching(/^issuers\[0\]\.issuer: must be https/),
        expect.stringMatching(/^routes\[0\]\.path: \* and \*\* must stand alone/),
        expect.stringMatching(/^claimHeaders\.sub: expected a lower-case HTTP header name/),
      ]),
    );
  });

  test('http issuers are accepted on loopback or with allowInsecureHttp', () => {
    expect(problems('issuers:\n  - issuer: http://127.0.0.1:9400\n    audiences: [a]\n')).toEqual([]);
    expect(problems('issuers:\n  - issuer: http://localhost:9400\n    audiences: [a]\n')).toEqual([]);
    expect(problems('issuers:\n  - issuer: http://idp.internal\n    audiences: [a]\n    allowInsecureHttp: true\n')).toEqual([]);
    expect(problems('issuers:\n  - issuer: https://idp.example.com\n    jwksUri: http://10.0.0.1/jwks\n    audiences: [a]\n')).toEqual([
      'issuers[0].jwksUri: must be https (http is accepted only on loopback addresses or with allowInsecureHttp: true)',
    ]);
  });

  test('unknown top-level keys, duplicate issuers and YAML errors are refused', () => {
    expect(problems(`${minimal}bogus: 1\n`)).toEqual(['bogus: unknown key']);
    expect(problems(`${minimal}  - issuer: https://idp.example.com/realms/prod\n    audiences: [x]\n`)).toEqual(['issuers[1].issuer: duplicates issuers[0]']);
    expect(problems('issuers: [\n')[0]).toMatch(/^\(yaml\): /);
    expect(problems('')).toEqual(['issuers: at least one issuer is required in authz mode']);
  });

  test('a misspelt key is reported at its own path with the key it was most likely meant to be', () => {
    expect(problems(`${minimal}    clockTolerence: 5s\nshutdownTimout: 5s\nlimits:\n  BodyBytes: 10\n`)).toEqual([
      'issuers[0].clockTolerence: unknown key; did you mean clockTolerance?',
      'limits.BodyBytes: unknown key; did you mean bodyBytes?',
      'shutdownTimout: unknown key; did you mean shutdownTimeout?',
    ]);
  });

  test('a key far from every known one gets no guess', () => {
    expect(problems(`${minimal}    colour: blue\n`)).toEqual(['issuers[0].colour: unknown key']);
  });

  test('a duration written as a bare number gets the same hint as a bad string, with the number and a unit', () => {
    expect(problems(`${minimal}shutdownTimeout: 30\n`)).toEqual([
      'shutdownTimeout: expected a duration such as 250ms, 30s, 10m, 24h or 7d, got the number 30: a duration needs its unit, such as 30s',
    ]);
    expect(problems(`${minimal}shutdownTimeout: soon\n`)).toEqual(['shutdownTimeout: expected a duration such as 250ms, 30s, 10m, 24h or 7d, got "soon"']);
  });

  test('a listen address written as a bare port number says how to write it', () => {
    expect(problems(`${minimal}listen: 8080\n`)).toEqual(['listen: expected host:port, got the number 8080: write :8080 (every address) or 127.0.0.1:8080']);
  });

  test('a YAML syntax error shows the line it is on and a caret under the column', () => {
    const [problem] = problems('mode: proxy\nissuers:\n  - issuer: https://idp.example.com\n    audiences: [x\nroutes:\n  - path: /x\n');
    expect(problem).toMatch(/^\(yaml\): .* at line 5, column 1:\n\n {4}audiences: \[x\nroutes:\n\^\n$/);
  });

  test('connection bounds are whole numbers of at least one', () => {
    expect(problems(`${minimal}limits:\n  connections: 0\n  upstreamConnections: 1.5\n`)).toEqual([
      expect.stringMatching(/^limits\.connections: /),
      expect.stringMatching(/^limits\.upstreamConnections: /),
    ]);
  });

  test('proxy mode needs an upstream', () => {
    expect(problems(`mode: proxy\n${minimal}`)).toEqual(['upstream: required in proxy mode (the app, e.g. http://127.0.0.1:3000)']);
  });

  test('environment variables override the listen addresses', () => {
    const config = parseConfigText(minimal, 't', { TOKENWATCH_LISTEN: '127.0.0.1:18080', TOKENWATCH_ADMIN: '[::1]:19464' });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 18080 });
    expect(config.admin).toEqual({ host: '::1', port: 19464 });
  });
});
