import type { Config, Enforcement, RouteConfig } from '../config/schema.js';

/** What a request must satisfy, from the first route that matches it (or the default route). */
export interface RouteRule {
  /** Position in `routes`, or -1 for the default route. */
  readonly index: number;
  /** The configured pattern, for logs and spans (never the request path itself: that is unbounded). */
  readonly pattern: string;
  readonly public: boolean;
  readonly deny: boolean;
  readonly scopes: readonly string[];
  /** The `scope` attribute of an insufficient_scope challenge: the required scopes, space-separated. */
  readonly scopeChallenge: string;
  readonly enforcement: Enforcement;
}

/** `segments` is the path split on `/`, computed at most once per request and only for patterns that need it. */
type PathMatcher = (path: string, segments: SegmentCache) => boolean;

class SegmentCache {
  private segments: string[] | undefined;
  constructor(private readonly path: string) {}
  get(): readonly string[] {
    return (this.segments ??= this.path === '/' ? [] : this.path.slice(1).split('/'));
  }
}

interface CompiledRoute {
  readonly rule: RouteRule;
  readonly methods: ReadonlySet<string> | undefined;
  readonly matches: PathMatcher;
}

/**
 * Routes compiled once at start-up; first match wins. `*` matches one path segment, `**` any number of segments
 * (zero included). Methods, when listed, are part of the match. A trailing slash does not change the match.
 */
export class RouteTable {
  private readonly routes: readonly CompiledRoute[];
  private readonly fallback: RouteRule;
  /** Whether any pattern needs the path split into segments (a `*`, or a `**` not at the end). */
  private readonly needsSegments: boolean;

  constructor(config: Pick<Config, 'routes' | 'defaultRoute' | 'enforcement'>) {
    this.routes = config.routes.map((route, index) => ({
      rule: ruleOf(route, index, config.enforcement),
      methods: route.methods ? new Set(route.methods) : undefined,
      matches: compilePattern(route.path),
    }));
    this.needsSegments = config.routes.some((route) => needsSegments(route.path));
    this.fallback = {
      index: -1,
      pattern: '(defaultRoute)',
      public: false,
      deny: config.defaultRoute === 'deny',
      scopes: [],
      scopeChallenge: '',
      enforcement: config.enforcement,
    };
  }

  /** `path` must be normalised (see normalizePath). */
  match(method: string, path: string): RouteRule {
    const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const segments = this.needsSegments ? new SegmentCache(trimmed) : NO_SEGMENTS;
    for (const route of this.routes) {
      if (route.methods && !route.methods.has(method)) continue;
      if (route.matches(trimmed, segments)) return route.rule;
    }
    return this.fallback;
  }
}

function ruleOf(route: RouteConfig, index: number, enforcement: Enforcement): RouteRule {
  return {
    index,
    pattern: route.path,
    public: route.public,
    deny: route.deny,
    scopes: route.scopes,
    scopeChallenge: route.scopes.join(' '),
    enforcement: route.enforcement ?? enforcement,
  };
}

function compilePattern(pattern: string): PathMatcher {
  const trimmed = pattern.length > 1 && pattern.endsWith('/') ? pattern.slice(0, -1) : pattern;
  const parts = trimmed === '/' ? [] : trimmed.slice(1).split('/');
  const wildcards = parts.filter((part) => part === '*' || part === '**').length;
  if (wildcards === 0) return (path) => path === trimmed;
  if (wildcards === 1 && parts[parts.length - 1] === '**') {
    const prefix = trimmed.slice(0, -3);
    if (prefix === '') return () => true;
    const prefixWithSlash = `${prefix}/`;
    return (path) => path === prefix || path.startsWith(prefixWithSlash);
  }
  return (_path, segments) => matchSegments(parts, 0, segments.get(), 0);
}

function needsSegments(pattern: string): boolean {
  const wildcards = (pattern.match(/\*\*?/g) ?? []).length;
  return wildcards > 1 || (wildcards === 1 && !pattern.endsWith('/**'));
}

const NO_SEGMENTS = new SegmentCache('/');

function matchSegments(pattern: readonly string[], p: number, path: readonly string[], s: number): boolean {
  for (; p < pattern.length; p++, s++) {
    const part = pattern[p]!;
    if (part === '**') {
      for (let rest = s; rest <= path.length; rest++) if (matchSegments(pattern, p + 1, path, rest)) return true;
      return false;
    }
    if (s >= path.length) return false;
    if (part !== '*' && part !== path[s]) return false;
  }
  return s === path.length;
}
