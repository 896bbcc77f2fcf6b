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

/** The model class of an API kind, from the installed schema packages; undefined for kinds none of them has. */
async function modelOf(manifest: Manifest): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
  const [group, version] = manifest.apiVersion.includes('/') ? manifest.apiVersion.split('/') : ['', manifest.apiVersion];
  const module =
    group === ''
      ? `kubernetes-models/v1/${manifest.kind}`
      : group === 'monitoring.coreos.com'
        ? `@kubernetes-models/prometheus-operator/${group}/${version}/${manifest.kind}`
        : group!.endsWith('istio.io')
          ? `@kubernetes-models/istio/${group}/${version}/${manifest.kind}`
          : ['apps', 'policy', 'networking.k8s.io'].includes(group!)
            ? `kubernetes-models/${group}/${version}/${manifest.kind}`
            : undefined;
  if (!module) return undefined;
  const loaded = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
  return loaded[manifest.kind] ?? loaded.default;
}

/**
 * No model package for these is installed (the Gateway API and Traefik ones need Node 22): their structure is
 * checked here instead, field by field.
 */
const STRUCTURAL_CHECKS: Record<string, (manifest: Manifest) => void> = {
  'gateway.networking.k8s.io/v1/HTTPRoute': (route) => {
    expect(route.spec.parentRefs.every((ref: { name?: unknown }) => typeof ref.name === 'string')).toBe(true);
    for (const rule of route.spec.rules) {
      for (const match of rule.matches ?? []) expect(['Exact', 'PathPrefix', 'RegularExpression']).toContain(match.path.type);
      for (const backend of rule.backendRefs) expect(backend).toEqual({ name: expect.any(String), port: expect.any(Number) });
    }
  },
  'traefik.io/v1alpha1/Middleware': (middleware) => {
    expect(Object.keys(middleware.spec)).toEqual(['forwardAuth']);
    expect(URL.canParse(middleware.spec.forwardAuth.address)).toBe(true);
    expect(middleware.spec.forwardAuth.trustForwardHeader).toBe(false);
  },
  'traefik.io/v1alpha1/IngressRoute': (route) => {
    for (const each of route.spec.routes) {
      expect(each.kind).toBe('Rule');
      expect(each.services.every((service: { name?: unknown; port?: unknown }) => typeof service.name === 'string' && service.port !== undefined)).toBe(true);
    }
  },
};

function podSpecOf(manifest: Manifest): Record<string, any> {
  return manifest.spec.template.spec;
}

/** The tokenwatch container of a workload, wherever it is. */
function tokenwatchContainer(manifest: Manifest): Record<string, any> {
  const spec = podSpecOf(manifest);
  return [...(spec.initContainers ?? []), ...spec.containers].find((container: { name: string }) => container.name === 'tokenwatch');
}

const workloads = (target: string) => build(target).filter((manifest) => manifest.kind === 'Deployment' && tokenwatchContainer(manifest));

describe('the Kubernetes manifests', () => {
  test.each(TARGETS)('%s builds with kubectl kustomize and every object passes its Kubernetes schema', async (target) => {
    for (const manifest of build(target)) {
      const key = `${manifest.apiVersion}/${manifest.kind}`;
      const Model = await modelOf(manifest);
      if (Model) expect(() => new Model(manifest).validate(), `${key} ${manifest.metadata.name}`).not.toThrow();
      else {
        expect(STRUCTURAL_CHECKS[key], `no schema and no structural check for ${key}`).toBeDefined();
        expect(manifest.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        STRUCTURAL_CHECKS[key]!(manifest);
      }
    }
  });

  test('the schema check refuses an object with a wrongly typed field', async () => {
    const [orders] = workloads('overlays/native-sidecar');
    const broken = { ...orders!, spec: { ...orders!.spec, replicas: 'two' } };
    const Model = (await modelOf(broken))!;
    expect(() => new Model(broken).validate()).toThrow(/replicas must be integer/);
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
        const configMount = container.volumeMounts.find((mount: { mountPath: string }) => mount.mountPath === '/etc/tokenwatch');
        const volume = pod.volumes.find((each: { name: string }) => each.name === configMount.name);
        expect(build(target).some((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name === volume.configMap.name)).toBe(true);
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
