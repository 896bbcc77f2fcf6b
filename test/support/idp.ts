import { startDemoUpstream, type DemoUpstream, type DemoUpstreamOptions } from '../../src/dev/demo-upstream.js';
import { startEmbeddedIdp, type EmbeddedIdp, type EmbeddedIdpOptions } from '../../src/dev/embedded-idp.js';
import { useStarted } from './lifecycle.js';

export { TokenRequestError, type DemoClient, type EmbeddedIdp } from '../../src/dev/embedded-idp.js';
export type { DemoUpstream, DemoUpstreamEcho } from '../../src/dev/demo-upstream.js';

/** A real oidc-provider for the tests of one file: `const idp = useEmbeddedIdp(); ... idp().getToken(...)`. */
export function useEmbeddedIdp(options?: EmbeddedIdpOptions): () => EmbeddedIdp {
  return useStarted(() => startEmbeddedIdp(options));
}

/** The echoing upstream for the tests of one file. */
export function useDemoUpstream(options?: DemoUpstreamOptions): () => DemoUpstream {
  return useStarted(() => startDemoUpstream(options));
}
