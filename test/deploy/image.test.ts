import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '../support/eventually.js';
import { OTLP_PROTOCOLS } from '../../src/observability/tracing/otlp-protocol.js';
import { useEmbeddedIdp } from '../support/idp.js';
import { node20, node24 } from '../support/node-runtimes.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { recordSidecarOutput } from '../support/secret-audit.js';
import { copyParts, parseDockerfile, readDockerfile, lint } from './dockerfile.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = readDockerfile(new URL('../../Dockerfile', import.meta.url));
const execFileAsync = promisify(execFile);

/** The build context's files and what each stage leaves under /app, as this checkout has them (npm test bundles). */
const STAGE_OUTPUTS: Record<string, () => string[]> = {
  'build:/app/bundle': () => [join(ROOT, 'bundle')],
  'context:package.json': () => [join(ROOT, 'package.json')],
};

/**
 * The runtime stage's files in a temporary directory, assembled as its COPY lines say. A COPY this test does not know
 * how to reproduce fails it, so the Dockerfile and the proof cannot drift apart.
 */
function assembleRuntimeStage(): string {
  const app = mkdtempSync(join(tmpdir(), 'tokenwatch-image-'));
  const workdir = DOCKERFILE.runtime.instructions.find((instruction) => instruction.keyword === 'WORKDIR')?.args;
  expect(workdir).toBe('/app');
  for (const instruction of DOCKERFILE.runtime.instructions.filter((each) => each.keyword === 'COPY' || each.keyword === 'ADD')) {
    const { from, sources, destination } = copyParts(instruction);
    for (const source of sources) {
      const key = from === undefined ? `context:${source}` : `${from}:${source}`;
      const produce = STAGE_OUTPUTS[key];
      if (!produce) throw new Error(`Dockerfile line ${instruction.line}: the image test does not know what ${key} holds; add it to STAGE_OUTPUTS`);
      const target = join(app, destination.replace(/^\.\/?/, ''));
      for (const path of produce()) {
        const into = destination.endsWith('/') ? join(target, relative(dirname(path), path)) : target;
        mkdirSync(dirname(into), { recursive: true });
        execFileSync('cp', ['-a', path, into]);
      }
    }
  }
  return app;
}

/** The ENTRYPOINT after `node` (its flags and the script), with /app/ paths in the assembled directory `app`. */
function entrypointArgs(app: string): string[] {
  const entrypoint = DOCKERFILE.runtime.instructions.find((instruction) => instruction.keyword === 'ENTRYPOINT')!;
  return (JSON.parse(entrypoint.args) as string[]).slice(1).map((arg) => (arg.startsWith('/app/') ? join(app, arg.slice('/app/'.length)) : arg));
}

/** Every file under `dir` with its modification time: what the image's process may not change. */
function snapshot(dir: string): Map<string, number> {
  const files = new Map<string, number>();
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), statSync(path).mtimeMs);
    }
  };
  walk(dir);
  return files;
}

describe('the Dockerfile', () => {
  test("passes hadolint's rules that apply to it, and runs as a numeric non-root UID", () => {
    expect(lint(DOCKERFILE)).toEqual([]);
  });

  test.each([
    ['FROM node\nUSER 1000', 'DL3006'],
    ['FROM node:latest\nUSER 1000', 'DL3007'],
    ['FROM node:24-slim\nUSER root', 'DL3002'],
    ['FROM node:24-slim', 'DL3002'],
    ['FROM node:24-slim\nUSER node', 'TW0001'],
    ['FROM node:24-slim\nCMD node server.js\nUSER 1000', 'DL3025'],
    ['FROM node:24-slim\nWORKDIR /app\nADD src ./src\nUSER 1000', 'DL3020'],
    ['FROM node:24-slim\nRUN curl -s x | sh\nUSER 1000', 'DL4006'],
    ['FROM node:24-slim\nRUN a\nRUN b\nUSER 1000', 'DL3059'],
    ['FROM node:24-slim\nCOPY --from=builder /a /a\nUSER 1000', 'DL3022'],
    ['FROM node:24-slim\nWORKDIR app\nUSER 1000', 'DL3000'],
  ])('the ported rules flag %j as %s', (text, code) => {
    expect(lint(parseDockerfile(text)).map((finding) => finding.split(' ')[0])).toContain(code);
  });

  test('runs on Node.js 24 with no shell, exposes both listeners, stops on SIGTERM and carries OCI labels', () => {
    const runtime = DOCKERFILE.runtime;
    expect(runtime.image).toMatch(/^gcr\.io\/distroless\/nodejs24-debian\d+:nonroot$/);
    const args = (keyword: string) => runtime.instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args);
    expect(JSON.parse(args('ENTRYPOINT')[0]!)[0]).toBe('/nodejs/bin/node');
    expect(args('EXPOSE').join(' ').split(/\s+/).sort()).toEqual(['8080', '9464']);
    expect(args('STOPSIGNAL')).toEqual(['SIGTERM']);
    const labels = args('LABEL').join(' ');
    for (const label of ['title', 'description', 'version', 'licenses', 'source']) expect(labels).toContain(`org.opencontainers.image.${label}=`);
  });
});

describe("the runtime stage's files", () => {
  const idp = useEmbeddedIdp();
  let app: string;
  let before: Map<string, number>;
  beforeAll(() => {
    app = assembleRuntimeStage();
    before = snapshot(app);
  }, 120_000);
  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true });
  });

  test('hold one bundle with the production dependencies inside and package.json: no node_modules', () => {
    expect(readdirSync(app).sort()).toEqual(['bundle', 'package.json']);
    expect(existsSync(join(app, 'bundle/cli.js'))).toBe(true);
    expect(existsSync(join(app, 'bundle/export/span-export-worker.js'))).toBe(true);
  });

  for (const [version, binary] of [
    ['24', node24],
    ['20', node20],
  ] as const) {
    describe(`on Node.js ${version}`, () => {
      /** The image's command line (its ENTRYPOINT's flags included): no shell, an empty PATH, only what the manifests set. */
      const run = (args: string[], cwd: string, env: Record<string, string> = {}) =>
        spawn(binary(), [...entrypointArgs(app), ...args], { cwd, env: { PATH: '', NODE_ENV: 'production', POD_NAME: 'demo-0', POD_NAMESPACE: 'demo', ...env }, stdio: 'pipe', shell: false });

      test('`tokenwatch check-config` accepts the deployed configuration', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-image-config-'));
        writeFileSync(join(dir, 'config.yaml'), stringify(sidecarConfig(idp().issuer)));
        const { stdout } = await execFileAsync(binary(), [...entrypointArgs(app), 'check-config', join(dir, 'config.yaml')], { cwd: app, env: { PATH: '' } });
        expect(stdout).toContain('ok');
        rmSync(dir, { recursive: true, force: true });
      });

      /**
       * The image's `run` with the deployed configuration and `env`, ready: `use` gets a forward-auth check of
       * /api/orders/1; then SIGTERM, which must exit 0.
       */
      async function withRunningImage(env: Record<string, string>, use: (check: (authorization?: string) => Promise<Response>) => Promise<void>) {
        const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-image-run-'));
        writeFileSync(join(dir, 'config.yaml'), stringify(sidecarConfig(idp().issuer)));
        const child = run(['run', '--config', join(dir, 'config.yaml')], app, env);
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
        child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
        const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
        try {
          const listen = await eventually(() => /"listen":"(http:\/\/[^"]+)"/.exec(out)?.[1] ?? false, 20_000);
          const admin = /"admin":"(http:\/\/[^"]+)"/.exec(out)![1]!;
          await eventually(async () => (await fetch(`${admin}/readyz`)).status === 200, 20_000);
          await use((authorization) =>
            fetch(`${listen}/`, { headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/api/orders/1', ...(authorization ? { authorization } : {}) } }),
          );
          child.kill('SIGTERM');
          expect(await exited).toBe(0);
        } finally {
          recordSidecarOutput(out);
          child.kill('SIGKILL');
          rmSync(dir, { recursive: true, force: true });
        }
      }

      test('validates tokens from a real IdP, writes nothing under /app, and exits 0 on SIGTERM', async () => {
        await withRunningImage({}, async (check) => {
          const token = await idp().getToken(idp().clients.orders, ['read:orders']);
          expect((await check(`Bearer ${token}`)).status).toBe(200);
          expect((await check()).status).toBe(401);
        });
        expect(snapshot(app)).toEqual(before);
      }, 60_000);

      // The exporters are the bundle's least-travelled code: each protocol loads its own packages in the export worker.
      test.each(OTLP_PROTOCOLS.map((protocol) => [protocol]))('exports the validation span over %s from the bundled export worker', async (protocol) => {
        const receiver = await startOtlpReceiver({ grpc: protocol === 'grpc' });
        try {
          const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_TRACES_SAMPLER: 'always_on', OTEL_BSP_SCHEDULE_DELAY: '50' };
          await withRunningImage(env, async (check) => {
            const token = await idp().getToken(idp().clients.orders, ['read:orders']);
            expect((await check(`Bearer ${token}`)).status).toBe(200);
            await eventually(() => receiver.spans.some((span) => span.name === 'token.validate'), 20_000);
          });
        } finally {
          await receiver.stop();
        }
      }, 60_000);

      test('`tokenwatch dev` says which package to install for the dev IdP the image leaves out', async () => {
        const child = run(['dev', '--port', '0', '--admin-port', '0', '--idp-port', '0', '--upstream-port', '0'], app);
        let err = '';
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
        const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
        expect(code).not.toBe(0);
        expect(err).toMatch(/tokenwatch dev needs the oidc-provider package .* npm install oidc-provider@\^9/);
      }, 30_000);
    });
  }
});

/** The configuration the Kubernetes base deploys, pointed at the test's IdP (forward-auth, as Traefik calls it). */
function sidecarConfig(issuer: string): Record<string, unknown> {
  return {
    mode: 'authz',
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    authz: { requestSource: 'x-forwarded' },
    issuers: [{ issuer, audiences: ['orders-api'] }],
    routes: [{ path: '/api/orders/**', scopes: ['read:orders'] }],
  };
}
