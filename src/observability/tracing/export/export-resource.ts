import { defaultResource, detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { ExportWorkerData } from './worker-protocol.js';

/**
 * The resource every exported span carries, each layer over the one before: the SDK's own attributes
 * (`telemetry.sdk.*`), tokenwatch's version as `service.version`, then what the environment says
 * (OTEL_RESOURCE_ATTRIBUTES, where the Kubernetes manifests put `k8s.pod.name` and `k8s.namespace.name`), the
 * process (`process.*`: pid, runtime, command) and the host (`host.name`, which is the pod's name in Kubernetes,
 * `host.arch`, `host.id`), and last `service.name` (OTEL_SERVICE_NAME, else `tokenwatch`). These are the detectors
 * the Node.js SDK runs by default; all of them ship in @opentelemetry/resources, which the tracer provider loads
 * anyway, so they cost no memory of their own.
 */
export function exportResource({ serviceName, serviceVersion }: Pick<ExportWorkerData, 'serviceName' | 'serviceVersion'>): Resource {
  return defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_VERSION]: serviceVersion }))
    .merge(detectResources({ detectors: [envDetector, processDetector, hostDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }));
}
