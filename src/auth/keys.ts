import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isLoopbackUrl, type IssuerConfig } from '../config/schema.js';
import { IDP_DOCUMENT_MAX_BYTES, IdpFetchError, discoveryUrlOf, fetchIdpJson, type IdpFetchResult } from './idp-fetch.js';
import { importJwks, type VerificationKey } from './jwks.js';

export type IdpEndpoint = 'discovery' | 'jwks';

/** What the key store reports, for metrics, spans and logs; the telemetry module implements it. */
export interface KeyStoreObserver {
  fetched(issuer: string, endpoint: IdpEndpoint, result: IdpFetchResult, seconds: number, message?: string): void;
  keysChanged(issuer: string, added: number, removed: number, total: number): void;
  refetchThrottled(issuer: string): void;
  keyLookup(issuer: string, found: boolean): void;
}

export const NOOP_KEY_STORE_OBSERVER: KeyStoreObserver = {
  fetched() {},
  keysChanged() {},
  refetchThrottled() {},
  keyLookup() {},
};

export type KeyStoreState = 'fresh' | 'stale' | 'unusable' | 'loading';

export interface KeyStoreStatus {
  issuer: string;
  state: KeyStoreState;
  keys: number;
  lastSuccessAt: number | undefined;
  usableUntil: number | undefined;
  lastError: string | undefined;
  idpUp: boolean;
}

const tracer = trace.getTracer('tokenwatch');
const MAX_RETRY_MS = 30_000;

/**
 * The JWKS of one issuer: discovery, fetch, background refresh before max-age, stale-if-error up to
 * `jwksMaxStale` (RFC 5861 semantics: usable until fresh-until + max-stale), and at most one
 * unknown-kid refetch per cooldown with concurrent callers sharing the fetch in flight.
 */
export class IssuerKeyStore {
  readonly issuer: string;
  private keysByKid = new Map<string, VerificationKey[]>();
  private current = new Set<VerificationKey>();
  private currentById = new Map<string, VerificationKey>();
  private jwksUri: string | undefined;
  private freshUntil = 0;
  private usableUntil = 0;
  private lastSuccessAt: number | undefined;
  private lastError: string | undefined;
  private idpUp = false;
  private inFlight: Promise<boolean> | undefined;
  private lastUnknownKidRefetchAt = Number.NEGATIVE_INFINITY;
  private refreshTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly config: IssuerConfig,
    private readonly observer: KeyStoreObserver = NOOP_KEY_STORE_OBSERVER,
    private readonly now: () => number = Date.now,
  ) {
    this.issuer = config.issuer;
    this.jwksUri = config.jwksUri;
  }

  /** Starts the first fetch without waiting for it: the sidecar listens at once and /readyz tells the state. */
  start(): Promise<boolean> {
    this.stopped = false;
    return this.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  /** True while the keys may be used: fresh, or stale within max-stale. */
  usable(): boolean {
    return this.now() < this.usableUntil;
  }

  /** Whether this exact key object is still published. Cached verified tokens check this on every hit. */
  isCurrent(key: VerificationKey): boolean {
    return this.current.has(key);
  }

  /** Whether the JWKS names this kid at all (for any algorithm). */
  hasKid(kid: string): boolean {
    return this.keysByKid.has(kid);
  }

  /**
   * The key for a token header. With a kid: the key with that kid and alg. Without: the single key for that alg,
   * or none when several could match (tokens from an IdP with several keys must name their key).
   */
  find(kid: string | undefined, alg: string): VerificationKey | undefined {
    const candidates: Iterable<VerificationKey> | undefined = kid === undefined ? this.current : this.keysByKid.get(kid);
    let found: VerificationKey | undefined;
    if (candidates) {
      for (const key of candidates) {
        if (key.alg !== alg) continue;
        if (found) return undefined;
        found = key;
      }
    }
    this.observer.keyLookup(this.issuer, found !== undefined);
    return found;
  }

  /**
   * Called for a kid the JWKS does not name: refetches at most once per cooldown; callers during a fetch share it.
   * Resolves true when a refetch ran (so the caller looks again).
   */
  async refetchForUnknownKid(): Promise<boolean> {
    if (this.inFlight) return this.inFlight;
    const now = this.now();
    if (now - this.lastUnknownKidRefetchAt < this.config.jwksCooldown) {
      this.observer.refetchThrottled(this.issuer);
      return false;
    }
    this.lastUnknownKidRefetchAt = now;
    return this.refresh();
  }

  status(): KeyStoreStatus {
    const now = this.now();
    let state: KeyStoreState;
    if (this.lastSuccessAt === undefined) state = 'loading';
    else if (now < this.freshUntil) state = 'fresh';
    else if (now < this.usableUntil) state = 'stale';
    else state = 'unusable';
    return {
      issuer: this.issuer,
      state,
      keys: this.current.size,
      lastSuccessAt: this.lastSuccessAt,
      usableUntil: this.lastSuccessAt === undefined ? undefined : this.usableUntil,
      lastError: this.lastError,
      idpUp: this.idpUp,
    };
  }

  /** Fetches discovery (when needed) and the JWKS now; concurrent calls share one fetch. Never rejects. */
  refresh(): Promise<boolean> {
    if (!this.inFlight) {
      this.inFlight = this.fetchAndInstall().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  private async fetchAndInstall(): Promise<boolean> {
    clearTimeout(this.refreshTimer);
    let ok = false;
    try {
      const jwksUri = this.jwksUri ?? (await this.discover());
      const fetched = await this.timed('jwks', () => fetchIdpJson(jwksUri, this.fetchOptions()));
      let imported;
      try {
        imported = await importJwks(fetched.body, this.config.algorithms, this.currentById);
      } catch (error) {
        throw new IdpFetchError('invalid', (error as Error).message);
      }
      if (imported.keys.length === 0) {
        throw new IdpFetchError('invalid', `no usable keys (${imported.skipped.join('; ') || 'empty key set'})`);
      }
      this.install(imported.keys, fetched.maxAgeMs);
      this.observer.fetched(this.issuer, 'jwks', 'success', this.lastFetchSeconds);
      this.idpUp = true;
      this.lastError = undefined;
      this.failures = 0;
      ok = true;
    } catch (error) {
      const failure = error instanceof IdpFetchError ? error : new IdpFetchError('error', String(error));
      this.observer.fetched(this.issuer, this.failedEndpoint, failure.result, this.lastFetchSeconds, failure.message);
      this.idpUp = false;
      this.lastError = `${this.failedEndpoint}: ${failure.message}`;
      this.failures += 1;
      if (!this.config.jwksUri) this.jwksUri = undefined;
    }
    this.scheduleRefresh(ok);
    return ok;
  }

  private lastFetchSeconds = 0;
  private failedEndpoint: IdpEndpoint = 'jwks';

  /** Times one IdP request and gives it a span (a no-op unless tracing is on). */
  private async timed<T>(endpoint: IdpEndpoint, fetcher: () => Promise<T>): Promise<T> {
    const started = performance.now();
    this.failedEndpoint = endpoint;
    const span = tracer.startSpan(`idp.${endpoint}`, { kind: SpanKind.CLIENT, attributes: { 'oauth.issuer': this.issuer } });
    try {
      return await fetcher();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof IdpFetchError ? error.result : 'error' });
      throw error;
    } finally {
      span.end();
      this.lastFetchSeconds = (performance.now() - started) / 1000;
    }
  }

  private async discover(): Promise<string> {
    const url = discoveryUrlOf(this.issuer);
    const fetched = await this.timed('discovery', () => fetchIdpJson(url, this.fetchOptions()));
    const document = fetched.body as { issuer?: unknown; jwks_uri?: unknown } | null;
    if (document?.issuer !== this.issuer) {
      throw new IdpFetchError('invalid', `discovery names issuer ${JSON.stringify(document?.issuer)}, configured ${this.issuer}`);
    }
    if (typeof document.jwks_uri !== 'string' || !URL.canParse(document.jwks_uri)) {
      throw new IdpFetchError('invalid', 'discovery has no valid jwks_uri');
    }
    const jwksUri = document.jwks_uri;
    if (!this.config.allowInsecureHttp && new URL(jwksUri).protocol !== 'https:' && !isLoopbackUrl(jwksUri)) {
      throw new IdpFetchError('invalid', 'discovery names a jwks_uri that is not https');
    }
    this.observer.fetched(this.issuer, 'discovery', 'success', this.lastFetchSeconds);
    this.jwksUri = jwksUri;
    return jwksUri;
  }

  private fetchOptions() {
    return { timeoutMs: this.config.fetchTimeout, maxBytes: IDP_DOCUMENT_MAX_BYTES };
  }

  private install(keys: VerificationKey[], maxAgeMs: number | undefined): void {
    const next = new Map(keys.map((key) => [key.id, key]));
    let added = 0;
    for (const id of next.keys()) if (!this.currentById.has(id)) added += 1;
    let removed = 0;
    for (const id of this.currentById.keys()) if (!next.has(id)) removed += 1;

    const byKid = new Map<string, VerificationKey[]>();
    for (const key of keys) if (key.kid !== undefined) byKid.set(key.kid, [...(byKid.get(key.kid) ?? []), key]);
    this.keysByKid = byKid;
    this.current = new Set(keys);
    this.currentById = next;

    const now = this.now();
    const freshFor = clamp(maxAgeMs ?? this.config.jwksCacheMaxAge, Math.min(this.config.jwksCooldown, this.config.jwksCacheMaxAge), this.config.jwksCacheMaxAge);
    this.lastSuccessAt = now;
    this.freshUntil = now + freshFor;
    this.usableUntil = this.freshUntil + this.config.jwksMaxStale;
    if (added > 0 || removed > 0) this.observer.keysChanged(this.issuer, added, removed, keys.length);
  }

  /** Refresh at 80% of the fresh period; after a failure retry with exponential backoff and jitter. */
  private scheduleRefresh(succeeded: boolean): void {
    if (this.stopped) return;
    let delay: number;
    if (succeeded) {
      delay = Math.max(0, (this.freshUntil - this.now()) * 0.8);
    } else {
      const base = clamp(this.config.jwksCacheMaxAge / 10, 100, 1000);
      const cap = Math.min(MAX_RETRY_MS, this.config.jwksCacheMaxAge);
      delay = Math.min(cap, base * 2 ** Math.min(this.failures - 1, 16));
    }
    delay *= 0.9 + Math.random() * 0.2;
    this.refreshTimer = setTimeout(() => void this.refresh(), delay);
    this.refreshTimer.unref();
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
