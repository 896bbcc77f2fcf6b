import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { requireTool } from '../support/tools.js';

/**
 * Where forward-auth runs, per example: the address each proxy calls must be one the example's own manifests
 * create. Traefik calls one central Service; Istio's provider resolves to the pod's own loopback, where the pod's
 * tokenwatch listens. The manifests are rendered with `kubectl kustomize`, offline.
 */

const execFileAsync = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL('../../deploy/examples/', import.meta.url));

type Manifest = { kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown> } & Record<string, unknown>;

async function render(example: string): Promise<Manifest[]> {
  const kubectl = requireTool('kubectl', 'kubectl');
  const { stdout } = await execFileAsync(kubectl, ['kustomize', `${EXAMPLES}${example}`], { timeout: 30_000 });
  return parseAllDocuments(stdout).map((document) => document.toJS() as Manifest);
}

const find = (manifests: Manifest[], kind: string, name?: string) => {
  const found = manifests.find((manifest) => manifest.kind === kind && (name === undefined || manifest.metadata.name === name));
  if (!found) throw new Error(`no ${kind} ${name ?? ''} among ${manifests.map((manifest) => `${manifest.kind}/${manifest.metadata.name}`).join(', ')}`);
  return found;
};
const readYaml = async (path: string) => parse(await readFile(`${EXAMPLES}${path}`, 'utf8')) as Record<string, any>;
const tokenwatchConfig = async (example: string) => parseConfigText(await readFile(`${EXAMPLES}${example}/tokenwatch.yaml`, 'utf8'), example, {});

describe('Traefik: one central tokenwatch service', () => {
  test('the middleware\'s address is the Service the example creates, on the port tokenwatch listens on', async () => {
    const manifests = await render('traefik');
    const middleware = await readYaml('traefik/middleware.yaml');
    const address = new URL(middleware.spec.forwardAuth.address as string);
    const service = find(manifests, 'Service', 'tokenwatch') as Record<string, any>;
    expect(address.hostname).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`);
    const port = service.spec.ports.find((candidate: { port: number }) => candidate.port === Number(address.port));
    expect(port).toBeDefined();

    const pod = (find(manifests, 'Deployment', 'tokenwatch') as Record<string, any>).spec.template;
    expect(service.spec.selector).toEqual(pod.metadata.labels);
    const container = pod.spec.containers.find((candidate: { name: string }) => candidate.name === 'tokenwatch');
    const target = container.ports.find((candidate: { name: string }) => candidate.name === port.targetPort);
    expect(target.containerPort).toBe((await tokenwatchConfig('traefik')).listen.port);
  });

  test('more than one replica serves the checks, and readiness is /readyz', async () => {
    const deployment = find(await render('traefik'), 'Deployment', 'tokenwatch') as Record<string, any>;
    expect(deployment.spec.replicas).toBeGreaterThan(1);
    expect(deployment.spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe('/readyz');
  });
});

describe('Istio: tokenwatch in each workload\'s own pod', () => {
  test('the provider\'s service resolves to the pod\'s loopback, where the pod\'s tokenwatch listens', async () => {
    const manifests = await render('istio');
    const provider = (await readYaml('istio/mesh-config.yaml')).spec.meshConfig.extensionProviders[0].envoyExtAuthzHttp;
    const entry = find(manifests, 'ServiceEntry') as Record<string, any>;
    expect(entry.spec.hosts).toEqual([provider.service]);
    expect(entry.spec.endpoints).toEqual([{ address: '127.0.0.1' }]);
    expect(entry.spec.ports.map((port: { number: number }) => port.number)).toEqual([provider.port]);
    expect((await tokenwatchConfig('istio')).listen).toEqual({ host: '127.0.0.1', port: provider.port });
  });

  test('the policy selects the pod that has tokenwatch next to the app, with the example\'s configuration mounted', async () => {
    const manifests = await render('istio');
    const policy = find(manifests, 'AuthorizationPolicy') as Record<string, any>;
    const pod = (find(manifests, 'Deployment') as Record<string, any>).spec.template;
    expect(pod.metadata.labels).toMatchObject(policy.spec.selector.matchLabels);
    const container = pod.spec.containers.find((candidate: { name: string }) => candidate.name === 'tokenwatch');
    expect(container.args).toEqual(['run', '--config', '/etc/tokenwatch/config.yaml']);
    const volume = pod.spec.volumes.find((candidate: { name: string }) => candidate.name === container.volumeMounts[0].name);
    const configMap = find(manifests, 'ConfigMap', volume.configMap.name) as Record<string, any>;
    expect(configMap.data['config.yaml']).toBe(await readFile(`${EXAMPLES}istio/tokenwatch.yaml`, 'utf8'));
  });
});
