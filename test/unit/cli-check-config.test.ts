import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCheckConfig } from '../../src/cli/check-config.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenwatch-cli-check-config-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function checkConfig(name: string, yaml: string | undefined) {
  const file = join(dir, name);
  if (yaml !== undefined) await writeFile(file, yaml);
  const out = new PassThrough();
  const code = await runCheckConfig(file, { live: false }, out);
  return { code, output: String(out.read() ?? ''), file };
}

const GOOD = `
mode: authz
listen: 127.0.0.1:8080
issuers:
  - issuer: https://idp.example.com
    audiences: [orders-api]
routes:
  - path: /healthz
    public: true
  - path: /api/orders/**
    scopes: [read:orders]
`;

const BAD = `
mode: sidecar
listen: nowhere
issuers:
  - issuer: idp.example.com
    audiences: []
    algorithms: [HS256]
routes:
  - path: /api/orders*
`;

describe('check-config', () => {
  test('a bad configuration prints every problem with its key path and exits 2', async () => {
    const { code, output, file } = await checkConfig('bad.yaml', BAD);

    expect(code).toBe(2);
    for (const path of ['mode', 'listen', 'issuers[0].issuer', 'issuers[0].audiences', 'issuers[0].algorithms[0]', 'routes[0].path']) {
      expect(output).toMatch(new RegExp(`^  ${path.replace(/[[\].]/g, '\\$&')}: \\S`, 'm'));
    }
    expect(output.trimEnd().split('\n').at(-1)).toBe(`✗ ${file}: 6 configuration problems`);
  });

  test('a good configuration exits 0 with a summary of mode, listeners, issuers and routes', async () => {
    const { code, output, file } = await checkConfig('good.yaml', GOOD);

    expect(code).toBe(0);
    expect(output).toContain(`✓ ${file}: configuration is valid`);
    expect(output).toMatch(/mode\s+authz/);
    expect(output).toMatch(/listeners\s+data plane 127\.0\.0\.1:8080, admin 0\.0\.0\.0:9464/);
    expect(output).toMatch(/issuers \(1\)\s+https:\/\/idp\.example\.com {2}audiences orders-api; algorithms RS256, PS256, ES256, EdDSA/);
    expect(output).toMatch(/routes\s+2 \(requests no route matches: authenticate\)/);
  });

  test('without --live nothing is fetched and no live section is printed', async () => {
    const { output } = await checkConfig('good-offline.yaml', GOOD);
    expect(output).not.toContain('live check');
  });

  test('a missing file is a problem of the file itself', async () => {
    const { code, output } = await checkConfig('absent.yaml', undefined);
    expect(code).toBe(2);
    expect(output).toContain('  (file): cannot read: ENOENT');
  });

  test('YAML that does not parse is reported with its line and a caret, indented under the problem', async () => {
    const { code, output } = await checkConfig('broken.yaml', 'mode: authz\nissuers:\n  - issuer: https://idp.example.com\n    audiences: [x\nroutes: []\n');
    expect(code).toBe(2);
    expect(output).toMatch(/^ {2}\(yaml\): .* at line 5, column 1:\n\n {8}audiences: \[x\n {4}routes: \[\]\n {4}\^\n/m);
  });
});
