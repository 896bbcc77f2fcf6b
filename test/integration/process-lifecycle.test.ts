import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { CLI, runCli } from '../support/cli-process.js';
import { eventually } from '../support/eventually.js';
import { acceptsConnections, freePort } from '../support/lifecycle.js';
import { sampleValue } from '../support/sidecar.js';
import { startJwksServer } from '../support/jwks-server.js';
import { createSigningKey, epoch, signWith } from '../support/tokens.js';

const dir = await mkdtemp(join(tmpdir(), 'tokenwatch-cli-'));
const execFileAsync = promisify(execFile);

describe('tokenwatch run', () => {
  test('a bad config prints every problem with its key path and exits 2 before anything listens', async () => {
    const port = await freePort();
    const file = join(dir, 'bad.yaml');
    await writeFile(file, `listen: 127.0.0.1:${port}\nissuers:\n  - issuer: http://idp.example.com\n    audiences: []\n    jwksCacheMaxAge: soon\nroutes:\n  - path: api\n    bogus: true\n`);
    const cli = runCli(['run', '--config', file]);
    expect(await cli.exited).toBe(2);
    const stderr = cli.stderr();
    for (const path of ['issuers[0].issuer', 'issuers[0].audiences', 'issuers[0].jwksCacheMaxAge', 'routes[0].path', 'routes[0].bogus: unknown key']) {
      expect(stderr).toContain(path);
    }
    expect(await acceptsConnections(port)).toBe(false);
  });

  test('run and check-config print the same problems in the same words and order', async () => {
    const file = join(dir, 'misspelt.yaml');
    await writeFile(file, 'issuers:\n  - issuer: https://idp.example.com\n    audiences: [orders-api]\n    clockTolerence: 5s\nshutdownTimeout: 30\n');
    const run = runCli(['run', '--config', file]);
    const check = runCli(['check-config', file]);
    expect(await run.exited).toBe(2);
    expect(await check.exited).toBe(2);
    expect(run.stderr()).toBe(check.stdout());
    expect(check.stdout()).toContain('  issuers[0].clockTolerence: unknown key; did you mean clockTolerance?\n');
  });

  test('no configuration at all exits 2 and says how to give one', async () => {
    const cli = runCli(['run'], { TOKENWATCH_CONFIG: '' });
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toContain('TOKENWATCH_CONFIG');
  });

  test('SIGTERM drains an in-flight request, then exits 0', async () => {
    const jwks = await startJwksServer();
    const port = await freePort();
    const file = join(dir, 'good.yaml');
    await writeFile(
      file,
      `listen: 127.0.0.1:${port}\nadmin: 127.0.0.1:0\nissuers:\n  - issuer: ${jwks.issuer}\n    audiences: [orders-api]\n    fetchTimeout: 1500ms\n`,
    );
    const cli = runCli(['run'], { TOKENWATCH_CONFIG: file });
    await cli.waitForOutput(/"event":"jwks_keys_changed"/);
    // An unknown kid makes the request wait for a JWKS refetch that hangs until fetchTimeout.
    jwks.setMode('hang');
    const rogue = await createSigningKey('RS256', 'rotated-kid');
    const token = await signWith(rogue.privateKey, { alg: 'RS256', kid: 'rotated-kid' }, { iss: jwks.issuer, aud: 'orders-api', exp: epoch(60), iat: epoch() });
    const inFlight = fetch(`http://127.0.0.1:${port}/api`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    cli.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(401);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).not.toContain(token.split('.')[1]);
    await jwks.stop();
  });
});

describe('tokenwatch dev', () => {
  const cli = runCli(['dev', '--port', '0', '--admin-port', '0', '--idp-port', '0', '--upstream-port', '0', '--state-dir', join(dir, 'dev-state')]);
  afterAll(async () => {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
  });

  test('prints curl commands that show 200, 401 without a token, 401 for a tampered token and 403 for a missing scope', async () => {
    await cli.waitForOutput(/curl -s .*\/metrics/, 20_000);
    const commands = cli
      .stdout()
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('curl -i') || /^[A-Z]+=\$\(curl/.test(line));
    // Run the printed lines exactly as a person would paste them, in one shell; print only status codes.
    const script = commands.map((line) => (line.startsWith('curl -i') ? `${line.replace('curl -i', 'curl -s -o /dev/null -w "%{http_code}\\n"')}` : line)).join('\n');
    const { stdout } = await execFileAsync('bash', ['-c', `set -e\n${script}`], { timeout: 20_000 });
    expect(stdout.trim().split('\n')).toEqual(['200', '401', '401', '403']);
  });

  test('runs in proxy mode by default: the demo upstream shows the identity headers it received', async () => {
    const out = cli.stdout();
    const [, clientId, secret, tokenEndpoint] = out.match(/-u '([^:]+):([^']+)' .* (http:\S+\/token)/)!;
    const { access_token: token } = (await (
      await fetch(tokenEndpoint!, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&scope=read%3Aorders',
      })
    ).json()) as { access_token: string };
    const [, api] = out.match(/curl -i (http:\S+)/)!;
    const response = await fetch(api!, { headers: { authorization: `Bearer ${token}`, 'x-auth-subject': 'spoofed' } });
    const echo = (await response.json()) as { headers: Record<string, string> };
    expect(echo.headers['x-auth-client-id']).toBe('orders-service');
    expect(echo.headers['x-auth-subject']).toBe('orders-service');
    expect(echo.headers['x-auth-scopes']).toBe('read:orders');
  });

  test('the IdP events reach /metrics: token issuance is counted end to end', async () => {
    const [, admin] = cli.stdout().match(/curl -s (\S+)\/metrics/)!;
    await eventually(async () => {
      const text = await (await fetch(`${admin}/metrics`)).text();
      expect(sampleValue(text, 'token_issuance_total', { grant_type: 'client_credentials', client_id: 'orders-service' })).toBe(2);
      expect(sampleValue(text, 'token_issuance_total', { grant_type: 'client_credentials', client_id: 'reporting-service' })).toBe(1);
      expect(sampleValue(text, 'token_validation_total', { result: 'success' })).toBe(2);
    });
  });

  test('the audit log shows one token_validated event per validation, successes included', async () => {
    // So far: the four printed curl requests, and the one with a spoofed header.
    const validated = () => cli.stdout().split('\n').filter((line) => line.includes('"event":"token_validated"'));
    await eventually(() => expect(validated()).toHaveLength(5));
    expect(validated().filter((line) => line.includes('"validation_result":"success"'))).toHaveLength(2);
  });

  test('the printed inspect-token line explains the 403 with the configuration the stack runs with', async () => {
    const lines = cli.stdout().split('\n').map((line) => line.trim());
    const other = lines.find((line) => line.startsWith('OTHER=$(curl'))!;
    const inspect = lines.find((line) => line.includes(' inspect-token --config '))!;
    expect(inspect).toMatch(/^(npx )?tokenwatch inspect-token --config \S+config\.yaml --method GET --path \/api\/orders\/42 "\$OTHER"$/);
    const script = `${other}\n${inspect.replace(/^(npx )?tokenwatch /, `"${process.execPath}" "${CLI}" `)}`;
    const run = await execFileAsync('bash', ['-c', script], { timeout: 20_000 }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => error,
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/route\s+✓\s+routes\[1\] \/api\/orders\/\*\* GET, HEAD: requires read:orders/);
    expect(run.stdout).toMatch(/scopes\s+✗\s+missing read:orders/);
    expect(run.stdout).toMatch(/decision\s+✗\s+refused: the sidecar answers HTTP 403 insufficient_scope/);
  });

  test('Ctrl-C stops everything cleanly', async () => {
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });
});
