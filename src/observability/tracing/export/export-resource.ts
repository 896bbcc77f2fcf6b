import { defaultResource, detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { VERSION } from '../../../version.js';

const DEFAULT_SERVICE_NAME = 'tokenwatch';

/**
 * The resource every exported span carries, each layer over the ones before it: the SDK's own attributes
 * (`telemetry.sdk.*`); `service.name` `tokenwatch` and `service.version` tokenwatch's version; what the process
 * (`process.*`: pid, runtime, command) and the host (`host.name`, which is the pod's name in Kubernetes, `host.arch`,
 * `host.id`) say; and last what the environment says (OTEL_RESOURCE_ATTRIBUTES, where the Kubernetes manifests put
 * `k8s.pod.name` and `k8s.namespace.name`, then OTEL_SERVICE_NAME), because what an operator configures beats what
 * is detected. These are the detectors the Node.js SDK runs by default; all of them ship in
 * @opentelemetry/resources, which the tracer provider loads anyway, so they cost no memory of their own.
 */
export function exportResource(): Resource {
  return defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME, [ATTR_SERVICE_VERSION]: VERSION }))
    .merge(detectResources({ detectors: [processDetector, hostDetector, envDetector] }));
}
