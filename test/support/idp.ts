import { startDemoUpstream, type DemoUpstream, type DemoUpstreamOptions } from '../../src/dev/demo-upstream.js';
import { startEmbeddedIdp, type EmbeddedIdp, type EmbeddedIdpOptions } from '../../src/dev/embedded-idp.js';
import { useStarted } from './lifecycle.js';
import { recordIssuedToken } from './secret-audit.js';

export { TokenRequestError, type DemoClient, type EmbeddedIdp } from '../../src/dev/embedded-idp.js';
export type { DemoUpstream, DemoUpstreamEcho } from '../../src/dev/demo-upstream.js';

/** A real oidc-provider for the tests of one file: `const idp = useEmbeddedIdp(); ... idp().getToken(...)`. */
export function useEmbeddedIdp(options?: EmbeddedIdpOptions): () => EmbeddedIdp {
  return useStarted(() => startEmbeddedIdp(options).then(auditedTokens));
}

/** Records every token the IdP hands a test, for the suite-wide secrets audit. */
function auditedTokens(idp: EmbeddedIdp): EmbeddedIdp {
  const { getTokenResponse } = idp;
  const recorded = async (...args: Parameters<EmbeddedIdp['getTokenResponse']>) => {
    const response = await getTokenResponse(...args);
    if (typeof response.access_token === 'string') recordIssuedToken(response.access_token);
    return response;
  };
  return Object.assign(idp, {
    getTokenResponse: recorded,
    getToken: async (...args: Parameters<EmbeddedIdp['getToken']>) => (await recorded(...args)).access_token as string,
  });
}

/** The echoing upstream for the tests of one file. */
export function useDemoUpstream(options?: DemoUpstreamOptions): () => DemoUpstream {
  return useStarted(() => startDemoUpstream(options));
}
