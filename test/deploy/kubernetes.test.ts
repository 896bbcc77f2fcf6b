import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { requireTool } from '../support/tools.js';
// @ts-expect-error: a build-time script in plain JavaScript, without declarations.
import { generateMonitoring } from '../../deploy/kubernetes/generate.mjs';
import { ALERT_NAMES } from '../../src/detection/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KUBERNETES = join(ROOT, 'deploy/kubernetes');
const FIXTURES = join(ROOT, 'test/fixtures/monitoring');

/** Every kustomization a user applies: the demo's two forms, the IdP side and each recipe. */
const TARGETS = ['overlays/native-sidecar', 'overlays/classic-sidecar', 'idp', 'recipes/istio', 'recipes/ingress-nginx', 'recipes/traefik', 'recipes/gateway-api'];

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, any>;

const built = new Map<string, Manifest[]>();
/** `kubectl kustomize` of a target, parsed: what `kubectl apply -k` would send. */
function build(target: string): Manifest[] {
  if (!built.has(target)) {
    const kubectl = requireTool('kubectl', 'kubectl');
    const text = execFileSync(kubectl, ['kustomize', join(KUBERNETES, target)], { encoding: 'utf8' });
    built.set(target, parseAllDocuments(text).map((document) => document.toJS() as Manifest));
  }
  return built.get(target)!;
}

/** The schema package of each API group the manifests use; an object of any other group has no schema and fails. */
const SCHEMA_PACKAGES = new Map<string, string>([
  ['', 'kubernetes-models'],
  ['apps', 'kubernetes-models'],
  ['policy', 'kubernetes-models'],
  ['networking.k8s.io', 'kubernetes-models'],
  ['monitoring.coreos.com', '@kubernetes-models/prometheus-operator'],
  ['security.istio.io', '@kubernetes-models/istio'],
  ['networking.istio.io', '@kubernetes-models/istio'],
  ['install.istio.io', '@kubernetes-models/istio'],
  ['gateway.networking.k8s.io', '@kubernetes-models/gateway-api'],
  ['traefik.io', '@kubernetes-models/traefik'],
]);

type ModelClass = (new (data: unknown) => { validate(): void }) & { apiVersion: string; kind: string };

/** The model class of an object's apiVersion and kind, from its group's schema package; throws for a kind none has. */
async function modelOf(manifest: Manifest): Promise<ModelClass> {
  const [group, version] = manifest.apiVersion.includes('/') ? manifest.apiVersion.split('/') : ['', manifest.apiVersion];
  const schemaPackage = SCHEMA_PACKAGES.get(group!);
  if (!schemaPackage) throw new Error(`no schema package for ${manifest.apiVersion} ${manifest.kind}: add the group to SCHEMA_PACKAGES`);
  const module = group === '' ? `${schemaPackage}/${version}/${manifest.kind}` : `${schemaPackage}/${group}/${version}/${manifest.kind}`;
  const loaded = (await import(module)) as Record<string, ModelClass>;
  const Model = loaded[manifest.kind] ?? loaded.default;
  // A package also exports the nested types of its kinds under the same path scheme; only the kind itself will do.
  if (Model?.apiVersion !== manifest.apiVersion || Model.kind !== manifest.kind) throw new Error(`${module} is not the model of ${manifest.apiVersion} ${manifest.kind}`);
  return Model;
}

async function validateAgainstSchema(manifest: Manifest): Promise<void> {
  const Model = await modelOf(manifest);
  new Model(manifest).validate();
}

function podSpecOf(manifest: Manifest): Record<string, any> {
  return manifest.spec.template.spec;
}

/** The tokenwatch container of a workload, wherever it is. */
function tokenwatchContainer(manifest: Manifest): Record<string, any> {
  const spec = podSpecOf(manifest);
  return [...(spec.initContainers ?? []), ...spec.containers].find((container: { name: string }) => container.name === 'tokenwatch');
}

const workloads = (target: string) => build(target).filter((manifest) => manifest.kind === 'Deployment' && tokenwatchContainer(manifest));

/** The ConfigMap a workload's tokenwatch reads its configuration from. */
function tokenwatchConfigMap(target: string, workload: Manifest): Manifest | undefined {
  const configMount = tokenwatchContainer(workload).volumeMounts.find((mount: { mountPath: string }) => mount.mountPath === '/etc/tokenwatch');
  const volume = podSpecOf(workload).volumes.find((each: { name: string }) => each.name === configMount.name);
  return build(target).find((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name === volume.configMap.name && manifest.metadata.namespace === workload.metadata.namespace);
}

/** The configuration of the tokenwatch a Service sends its traffic to, and the container port a port of the Service reaches. */
function tokenwatchBehind(target: string, service: Manifest, servicePort: number) {
  const workload = workloads(target).find(
    (each) => each.metadata.namespace === service.metadata.namespace && Object.entries(service.spec.selector).every(([label, value]) => each.spec.template.metadata.labels[label] === value),
  )!;
  expect(workload, `a tokenwatch workload behind Service ${service.metadata.name}`).toBeDefined();
  const exposed = service.spec.ports.find((port: { port: number }) => port.port === servicePort);
  expect(exposed, `port ${servicePort} of Service ${service.metadata.name}`).toBeDefined();
  const containerPort = tokenwatchContainer(workload).ports.find((port: { name: string }) => port.name === exposed.targetPort)?.containerPort as number | undefined;
  return { config: parseConfigText(tokenwatchConfigMap(target, workload)!.data['config.yaml'], workload.metadata.name, {}), containerPort };
}

describe('the Kubernetes manifests', () => {
  test.each(TARGETS)('%s builds with kubectl kustomize and every object passes its Kubernetes schema', async (target) => {
    for (const manifest of build(target)) {
      const object = `${manifest.apiVersion} ${manifest.kind} ${manifest.metadata.name}`;
      await expect(validateAgainstSchema(manifest), object).resolves.toBeUndefined();
      // The schemas leave names free; this is the strictest rule the API server applies to any kind (a DNS-1123 label).
      expect(manifest.metadata.name, object).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  test.each([
    ['istio', ['envoy-filter.yaml', 'mesh-config.yaml']],
    ['traefik', ['middleware.yaml']],
  ])('deploy/examples/%s builds with kubectl kustomize, and it and the files applied beside it pass their schemas', async (example, applied) => {
    const dir = join(ROOT, 'deploy/examples', example);
    const kubectl = requireTool('kubectl', 'kubectl');
    const texts = [execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8' }), ...applied.map((file) => readFileSync(join(dir, file), 'utf8'))];
    const manifests = texts.flatMap((text) => parseAllDocuments(text).map((document) => document.toJS() as Manifest));
    expect(manifests.length).toBeGreaterThan(applied.length);
    for (const manifest of manifests) {
      // mesh-config.yaml is istioctl's input, which needs no metadata.
      await expect(validateAgainstSchema(manifest), `${manifest.apiVersion} ${manifest.kind} ${manifest.metadata?.name ?? ''}`).resolves.toBeUndefined();
    }
  });

  test('the schema check refuses an object with a wrongly typed field', async () => {
    const [orders] = workloads('overlays/native-sidecar');
    const broken = { ...orders!, spec: { ...orders!.spec, replicas: 'two' } };
    await expect(validateAgainstSchema(broken)).rejects.toThrow(/replicas must be integer/);
  });

  test.each([
    {
      kind: 'HTTPRoute',
      target: 'recipes/gateway-api',
      breakIt: (route: Manifest) => void (route.spec.parentRefs = 'public'),
      refusal: /spec\/parentRefs must be array/,
    },
    {
      kind: 'Middleware',
      target: 'recipes/traefik',
      breakIt: (middleware: Manifest) => void (middleware.spec.forwardAuth.trustForwardHeader = 'false'),
      refusal: /spec\/forwardAuth\/trustForwardHeader must be boolean/,
    },
    {
      kind: 'IngressRoute',
      target: 'recipes/traefik',
      breakIt: (route: Manifest) => void (route.spec.routes[0].services = route.spec.routes[0].services[0]),
      refusal: /spec\/routes\/0\/services must be array/,
    },
  ])("the schema check refuses $target's $kind with a wrongly typed field", async ({ kind, target, breakIt, refusal }) => {
    const broken = structuredClone(build(target).find((manifest) => manifest.kind === kind)!);
    breakIt(broken);
    await expect(validateAgainstSchema(broken)).rejects.toThrow(refusal);
  });

  test('the schema check refuses an object of an API group no schema package covers', async () => {
    const traefikV2 = { ...build('recipes/traefik').find((manifest) => manifest.kind === 'Middleware')!, apiVersion: 'traefik.containo.us/v1alpha1' };
    await expect(validateAgainstSchema(traefikV2)).rejects.toThrow(/no schema package for traefik.containo.us\/v1alpha1 Middleware/);
  });

  test('the schema check refuses a kind that its group\'s package has only as a nested type', async () => {
    const route = build('recipes/gateway-api').find((manifest) => manifest.kind === 'HTTPRoute')!;
    await expect(validateAgainstSchema({ ...route, kind: 'HTTPRouteRule' })).rejects.toThrow(/is not the model of gateway.networking.k8s.io\/v1 HTTPRouteRule/);
  });

  test.each(TARGETS)("%s: every tokenwatch configuration in a ConfigMap is one tokenwatch accepts", (target) => {
    const configs = build(target).filter((manifest) => manifest.kind === 'ConfigMap' && manifest.data?.['config.yaml']);
    expect(configs.length).toBeGreaterThan(0);
    for (const configMap of configs) expect(() => parseConfigText(configMap.data['config.yaml'], configMap.metadata.name, {})).not.toThrow();
  });

  test.each(TARGETS.filter((target) => target !== 'recipes/gateway-api'))(
    '%s runs tokenwatch non-root on a read-only root file system, without capabilities, under seccomp, probed and bounded',
    (target) => {
      expect(workloads(target).length).toBeGreaterThan(0);
      for (const workload of workloads(target)) {
        const pod = podSpecOf(workload);
        const container = tokenwatchContainer(workload);
        expect(container.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 65532,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'tw-admin' });
        expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'tw-admin' });
        expect(container.resources).toEqual({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } });
        const downward = Object.fromEntries(container.env.map((variable: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }) => [variable.name, variable.valueFrom?.fieldRef?.fieldPath]));
        expect(downward).toMatchObject({ POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace' });
        expect(tokenwatchConfigMap(target, workload)).toBeDefined();
      }
    },
  );

  test('the native form runs tokenwatch as an init container with restartPolicy Always; the classic form as a regular container', () => {
    const [native] = workloads('overlays/native-sidecar');
    expect(podSpecOf(native!).initContainers).toEqual([expect.objectContaining({ name: 'tokenwatch', restartPolicy: 'Always' })]);
    const [classic] = workloads('overlays/classic-sidecar');
    expect(podSpecOf(classic!).initContainers).toBeUndefined();
    expect(podSpecOf(classic!).containers.map((container: { name: string }) => container.name)).toEqual(['tokenwatch', 'app']);
    expect(tokenwatchContainer(classic!).restartPolicy).toBeUndefined();
    const { restartPolicy: _native, ...nativeRest } = tokenwatchContainer(native!);
    expect(tokenwatchContainer(classic!)).toEqual(nativeRest);
  });

  test("the demo's Service targets tokenwatch's port, and the NetworkPolicy admits nothing else", () => {
    const manifests = build('overlays/native-sidecar');
    const service = manifests.find((manifest) => manifest.kind === 'Service' && manifest.metadata.name === 'orders')!;
    expect(service.spec.ports.map((port: { targetPort: string }) => port.targetPort)).toEqual(['tw-http']);
    const policy = manifests.find((manifest) => manifest.kind === 'NetworkPolicy')!;
    const ports = policy.spec.ingress.flatMap((rule: { ports: Array<{ port: string }> }) => rule.ports.map((port) => port.port));
    expect(ports.sort()).toEqual(['tw-admin', 'tw-http']);
  });

  test('recipes/traefik: every route of the IngressRoute passes through the ForwardAuth Middleware', () => {
    const manifests = build('recipes/traefik');
    const middleware = manifests.find((manifest) => manifest.kind === 'Middleware')!;
    expect(Object.keys(middleware.spec)).toEqual(['forwardAuth']);
    const ingressRoute = manifests.find((manifest) => manifest.kind === 'IngressRoute')!;
    expect(ingressRoute.metadata.namespace).toBe(middleware.metadata.namespace);
    for (const route of ingressRoute.spec.routes) expect(route.middlewares).toContainEqual({ name: middleware.metadata.name });
  });

  test("recipes/traefik: the Middleware asks the tokenwatch Service on tokenwatch's listen port", () => {
    const manifests = build('recipes/traefik');
    const { forwardAuth } = manifests.find((manifest) => manifest.kind === 'Middleware')!.spec;
    const address = new URL(forwardAuth.address);
    const [name, namespace] = address.hostname.split('.');
    const service = manifests.find((manifest) => manifest.kind === 'Service' && manifest.metadata.name === name && manifest.metadata.namespace === namespace)!;
    expect(service, `Service ${name} in namespace ${namespace}`).toBeDefined();
    expect(address.hostname).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`);
    const { config, containerPort } = tokenwatchBehind('recipes/traefik', service, Number(address.port));
    expect(config.mode).toBe('authz');
    expect(containerPort).toBe(config.listen.port);
  });

  test("recipes/traefik: the Middleware copies every identity header of tokenwatch's answer onto the request to the app", () => {
    const manifests = build('recipes/traefik');
    const middleware = manifests.find((manifest) => manifest.kind === 'Middleware')!;
    const [tokenwatch] = workloads('recipes/traefik');
    const config = parseConfigText(tokenwatchConfigMap('recipes/traefik', tokenwatch!)!.data['config.yaml'], 'traefik', {});
    const copied = middleware.spec.forwardAuth.authResponseHeaders.map((header: string) => header.toLowerCase());
    for (const header of Object.values(config.claimHeaders)) expect(copied).toContain(header);
  });

  test('recipes/traefik: the Middleware does not trust the X-Forwarded headers a client sends, from which tokenwatch reads the method and path', () => {
    const middleware = build('recipes/traefik').find((manifest) => manifest.kind === 'Middleware')!;
    expect(middleware.spec.forwardAuth.trustForwardHeader).toBe(false);
  });

  test("recipes/gateway-api: every backend of the HTTPRoute is a Service in front of tokenwatch in proxy mode", () => {
    const manifests = build('recipes/gateway-api');
    const route = manifests.find((manifest) => manifest.kind === 'HTTPRoute')!;
    const backends = route.spec.rules.flatMap((rule: { backendRefs: Array<{ name: string; port: number }> }) => rule.backendRefs);
    expect(backends.length).toBeGreaterThan(0);
    for (const backend of backends) {
      const service = manifests.find((manifest) => manifest.kind === 'Service' && manifest.metadata.name === backend.name && manifest.metadata.namespace === route.metadata.namespace)!;
      expect(service, `Service ${backend.name}`).toBeDefined();
      const { config, containerPort } = tokenwatchBehind('recipes/gateway-api', service, backend.port);
      expect(config.mode).toBe('proxy');
      expect(containerPort).toBe(config.listen.port);
    }
  });

  test('Keycloak logs its success events to the file that tokenwatch, in events mode, follows through a shared emptyDir', () => {
    const manifests = build('idp');
    const [keycloak] = workloads('idp');
    const pod = podSpecOf(keycloak!);
    const server = pod.containers.find((container: { name: string }) => container.name === 'keycloak');
    expect(server.args).toContain('--spi-events-listener--jboss-logging--success-level=info');
    const logFile = (server.args as string[]).find((arg) => arg.startsWith('--log-file='))!.slice('--log-file='.length);
    const config = parseConfigText(manifests.find((manifest) => manifest.kind === 'ConfigMap')!.data['config.yaml'], 'idp', {});
    expect(config.mode).toBe('events');
    expect(config.idpEvents.map((source) => source.path)).toEqual([logFile]);
    const volume = pod.volumes.find((each: { emptyDir?: unknown }) => each.emptyDir);
    const mountOf = (container: { volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }> }) => container.volumeMounts.find((mount) => mount.name === volume.name);
    expect(mountOf(server)!.mountPath).toBe(logFile.slice(0, logFile.lastIndexOf('/')));
    expect(mountOf(tokenwatchContainer(keycloak!) as never)).toMatchObject({ mountPath: mountOf(server)!.mountPath, readOnly: true });
  });

  test('a PodMonitor scrapes the admin port of every pod that carries tokenwatch', () => {
    const manifests = build('overlays/native-sidecar');
    const monitor = manifests.find((manifest) => manifest.kind === 'PodMonitor')!;
    for (const target of ['overlays/native-sidecar', 'idp', 'recipes/istio']) {
      for (const workload of workloads(target)) {
        expect(workload.spec.template.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
        expect(tokenwatchContainer(workload).ports.map((port: { name: string }) => port.name)).toContain(monitor.spec.podMetricsEndpoints[0].port);
      }
    }
  });
});

describe('the monitoring manifests generated from alerts/ and dashboards/', () => {
  const fromFixtures = (): Map<string, string> => generateMonitoring({ alertsDir: join(FIXTURES, 'alerts'), dashboardsDir: join(FIXTURES, 'dashboards') });

  test('wrap each rule file in a PrometheusRule that passes its schema, leaving promtool test files out', async () => {
    const files = fromFixtures();
    expect([...files.keys()].filter((name) => name.includes('rules-'))).toEqual(['generated/rules-tokenwatch.yaml']);
    const rule = parse(files.get('generated/rules-tokenwatch.yaml')!) as Manifest;
    const { PrometheusRule } = await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule');
    expect(() => new PrometheusRule(rule as never).validate()).not.toThrow();
    expect(rule.spec.groups).toEqual((parse(readFileSync(join(FIXTURES, 'alerts/tokenwatch.yaml'), 'utf8')) as { groups: unknown }).groups);
  });

  test("put each dashboard in a ConfigMap labelled for Grafana's sidecar loader, byte for byte", async () => {
    const configMap = parse(fromFixtures().get('generated/dashboard-tokenwatch-overview.yaml')!) as Manifest;
    const { ConfigMap } = await import('kubernetes-models/v1/ConfigMap');
    expect(() => new ConfigMap(configMap as never).validate()).not.toThrow();
    expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(configMap.data['tokenwatch-overview.json']).toBe(readFileSync(join(FIXTURES, 'dashboards/tokenwatch-overview.json'), 'utf8'));
  });

  test('are committed as generated from the rule files and dashboards of this checkout (no drift)', () => {
    const files = generateMonitoring() as Map<string, string>;
    const monitoring = join(KUBERNETES, 'monitoring');
    const committed = existsSync(join(monitoring, 'generated')) ? readdirSync(join(monitoring, 'generated')).map((name) => `generated/${name}`) : [];
    expect(committed.sort(), 'run npm run deploy:generate').toEqual([...files.keys()].filter((name) => name.startsWith('generated/')).sort());
    for (const [name, text] of files) expect(readFileSync(join(monitoring, name), 'utf8'), `${name}: run npm run deploy:generate`).toBe(text);
  });

  test('the Alertmanager routing names only alerts that the rule files or the sidecars raise', () => {
    const config = parse(readFileSync(join(KUBERNETES, 'monitoring/alertmanager-config.yaml'), 'utf8')) as Manifest;
    const matchers = JSON.stringify([config.spec.route, config.spec.inhibitRules]);
    const named = [...matchers.matchAll(/"name":"alertname",(?:"matchType":"=~?",)?"value":"([^"]+)"/g)].flatMap((match) => match[1]!.split('|'));
    const alertsDir = join(ROOT, 'alerts');
    const defined = new Set<string>([
      ...Object.values(ALERT_NAMES),
      ...readdirSync(alertsDir)
        .filter((name) => /\.ya?ml$/.test(name))
        .flatMap((name) => ((parse(readFileSync(join(alertsDir, name), 'utf8')) as { groups?: Array<{ rules: Array<{ alert?: string }> }> }).groups ?? []).flatMap((group) => group.rules.flatMap((rule) => (rule.alert ? [rule.alert] : [])))),
    ]);
    expect(named.length).toBeGreaterThan(5);
    for (const name of named) expect(defined, name).toContain(name);
  });
});
