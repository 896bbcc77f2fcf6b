import type { IncomingMessage } from 'node:http';
import { invalidRequest } from '../../auth/errors.js';
import type { Config } from '../../config/schema.js';
import type { GateRequest } from '../gate/ports.js';
import { TokenwatchError } from '../../errors.js';

export type RequestSource = Config['authz']['requestSource'];

const METHOD = /^[A-Z]{1,20}$/;

/** The headers forward-auth callers use to describe the original request, read once from the raw header list. */
interface ForwardHeaders {
  authorization: string[];
  traceparent: string | undefined;
  tracestate: string | undefined;
  forwardedUri: string[];
  forwardedMethod: string[];
  originalUri: string[];
  originalMethod: string[];
}

/**
 * Reconstructs the original request of a forward-auth check: Traefik sends X-Forwarded-Method/-Uri, NGINX
 * (by convention) X-Original-Method/-URI, Envoy the original path after `authz.pathPrefix` on the request line.
 * With `auto`, a request that carries both header families with different values is refused: a client could
 * otherwise pick the path that is checked by adding the family its proxy does not overwrite; and with a path prefix
 * (Envoy) the headers are not read at all. Deployments should still name their source explicitly.
 */
export function originalRequest(raw: IncomingMessage, source: RequestSource, pathPrefix: string): GateRequest | { error: string; status: 400 | 404 } {
  const headers = scanHeaders(raw.rawHeaders);
  try {
    switch (source) {
      case 'x-forwarded':
        return fromHeaders(headers.forwardedMethod, headers.forwardedUri, 'X-Forwarded', headers);
      case 'x-original':
        return fromHeaders(headers.originalMethod, headers.originalUri, 'X-Original', headers);
      case 'request-line':
        return fromRequestLine(raw, pathPrefix, headers);
      case 'auto': {
        // A path prefix is Envoy's (ext_authz path_prefix): the request line is then the only source.
        if (pathPrefix !== '') return fromRequestLine(raw, pathPrefix, headers);
        const forwarded = headers.forwardedUri.length > 0 || headers.forwardedMethod.length > 0;
        const original = headers.originalUri.length > 0 || headers.originalMethod.length > 0;
        if (forwarded && original) {
          const a = fromHeaders(headers.forwardedMethod, headers.forwardedUri, 'X-Forwarded', headers);
          const b = fromHeaders(headers.originalMethod, headers.originalUri, 'X-Original', headers);
          if (a.method !== b.method || a.target !== b.target) throw invalidRequest('X-Forwarded-* and X-Original-* name different requests');
          return a;
        }
        if (forwarded) return fromHeaders(headers.forwardedMethod, headers.forwardedUri, 'X-Forwarded', headers);
        if (original) return fromHeaders(headers.originalMethod, headers.originalUri, 'X-Original', headers);
        return fromRequestLine(raw, pathPrefix, headers);
      }
    }
  } catch (error) {
    if (error instanceof PrefixMismatch) return { error: error.message, status: 404 };
    return { error: (error as Error).message, status: 400 };
  }
}

class PrefixMismatch extends TokenwatchError {
  override readonly name = 'PrefixMismatch';
  readonly code = 'ERR_FORWARDED_PREFIX_MISMATCH';
}

function fromHeaders(methods: string[], uris: string[], family: string, headers: ForwardHeaders): GateRequest {
  if (methods.length !== 1 || uris.length !== 1) throw invalidRequest(`exactly one ${family}-Method and one ${family}-Uri header are required`);
  const method = methods[0]!;
  if (!METHOD.test(method)) throw invalidRequest(`${family}-Method is not an HTTP method`);
  return { method, target: uris[0]!, authorization: headers.authorization, traceparent: headers.traceparent, tracestate: headers.tracestate };
}

function fromRequestLine(raw: IncomingMessage, pathPrefix: string, headers: ForwardHeaders): GateRequest {
  const method = raw.method ?? 'GET';
  const url = raw.url ?? '/';
  const { authorization, traceparent, tracestate } = headers;
  if (pathPrefix === '') return { method, target: url, authorization, traceparent, tracestate };
  if (!url.startsWith(pathPrefix)) throw new PrefixMismatch(`the check path must start with ${pathPrefix}`);
  const rest = url.slice(pathPrefix.length);
  if (rest === '' || rest.startsWith('?')) return { method, target: `/${rest}`, authorization, traceparent, tracestate };
  if (!rest.startsWith('/')) throw new PrefixMismatch(`the check path must start with ${pathPrefix}/`);
  return { method, target: rest, authorization, traceparent, tracestate };
}

function scanHeaders(rawHeaders: string[]): ForwardHeaders {
  const found: ForwardHeaders = { authorization: [], traceparent: undefined, tracestate: undefined, forwardedUri: [], forwardedMethod: [], originalUri: [], originalMethod: [] };
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!;
    const value = rawHeaders[index + 1]!;
    // Switch on length first so most headers cost one comparison.
    switch (name.length) {
      case 13:
        if (name.toLowerCase() === 'authorization') found.authorization.push(value);
        break;
      case 15:
        if (name.toLowerCase() === 'x-forwarded-uri') found.forwardedUri.push(value);
        break;
      case 18:
        if (name.toLowerCase() === 'x-forwarded-method') found.forwardedMethod.push(value);
        break;
      case 14:
        if (name.toLowerCase() === 'x-original-uri') found.originalUri.push(value);
        break;
      case 17:
        if (name.toLowerCase() === 'x-original-method') found.originalMethod.push(value);
        break;
      case 11:
        if (name.toLowerCase() === 'traceparent') found.traceparent = value;
        break;
      case 10:
        if (name.toLowerCase() === 'tracestate') found.tracestate = value;
        break;
    }
  }
  return found;
}

/** Authorization values and W3C trace context of a request, read in one pass over its raw headers. */
export function credentialAndTraceHeaders(rawHeaders: string[]): Pick<GateRequest, 'authorization' | 'traceparent' | 'tracestate'> {
  const { authorization, traceparent, tracestate } = scanHeaders(rawHeaders);
  return { authorization, traceparent, tracestate };
}
