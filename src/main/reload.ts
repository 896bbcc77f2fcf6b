import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ConfigError, parseConfigText, readConfigText } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import { CONFIG_RELOAD_RESULTS, METRICS, metricOptions } from '../observability/catalog/metrics.js';
import { ReloadRefused, type Sidecar } from './sidecar.js';

export type ReloadResult = (typeof CONFIG_RELOAD_RESULTS)[number];
export type ReloadTrigger = 'file' | 'signal';

export interface ConfigReloaderOptions {
  /** The configuration file the sidecar was started from. */
  file: string;
  /** Its text as loaded at start-up: a file event that leaves it unchanged reloads nothing. */
  loadedText: string;
  env?: NodeJS.ProcessEnv;
  /** Events of one save (an editor, kubelet's symlink swap) come in bursts; they are read once after this quiet time. */
  settleMs?: number;
  /** The file is also read at this interval, for file systems that deliver no change events. */
  pollIntervalMs?: number;
}

/** The reload metrics on a registry, created once per registry (prom-client refuses a second registration). */
export function configReloadMetrics(registry: Registry): { reloads: Counter<'result'>; lastSuccess: Gauge } {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const reloads = new Counter({ ...metricOptions(METRICS.configReloads), registers: [registry] });
  for (const result of CONFIG_RELOAD_RESULTS) reloads.labels(result);
  const created = { reloads, lastSuccess: new Gauge({ ...metricOptions(METRICS.configLastReloadSuccess), registers: [registry] }) };
  byRegistry.set(registry, created);
  return created;
}
const byRegistry = new WeakMap<Registry, ReturnType<typeof configReloadMetrics>>();

/**
 * Puts a changed configuration file in force without a restart: on a change of the file (an edit, or the symlink
 * swap by which Kubernetes updates a mounted ConfigMap) and on SIGHUP. The new configuration is validated whole
 * first; a bad one is logged with every problem and the running one keeps serving. Reloads run one at a time.
 */
export class ConfigReloader {
  private readonly metrics: ReturnType<typeof configReloadMetrics>;
  private readonly settleMs: number;
  /** The text last read; undefined after a failed read, so a file that stays unreadable is reported once. */
  private loadedText: string | undefined;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly onSignal = () => void this.reload('signal');

  constructor(
    private readonly sidecar: Sidecar,
    private readonly logger: Logger,
    private readonly options: ConfigReloaderOptions,
  ) {
    this.metrics = configReloadMetrics(sidecar.metrics.registry);
    this.metrics.lastSuccess.set(Date.now() / 1000);
    this.loadedText = options.loadedText;
    this.settleMs = options.settleMs ?? 250;
  }

  /**
   * Watches the file's directory rather than the file: kubelet replaces the `..data` symlink the file resolves
   * through, and editors often save by renaming a new file over the old one; both leave a watch on the file itself
   * looking at a deleted inode.
   */
  start(): void {
    const name = basename(this.options.file);
    this.watcher = watch(dirname(this.options.file), { persistent: false }, (_event, changed) => {
      if (changed === null || changed === name || changed.startsWith('..')) this.fileChanged();
    });
    this.watcher.on('error', (error) => {
      this.logger.warn({ event: 'config_watch_failed', error: error.message }, 'configuration file watch failed; polling only');
      this.watcher?.close();
    });
    this.poller = setInterval(() => this.fileChanged(), this.options.pollIntervalMs ?? 10_000).unref();
    process.on('SIGHUP', this.onSignal);
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.poller);
    clearTimeout(this.settleTimer);
    process.off('SIGHUP', this.onSignal);
  }

  /** Reads, validates and applies the file. A file event with unchanged text does nothing; SIGHUP always reloads. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult | 'unchanged'> {
    const run = this.queue.then(() => this.reloadNow(trigger));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private fileChanged(): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.reload('file'), this.settleMs).unref();
  }

  private async reloadNow(trigger: ReloadTrigger): Promise<ReloadResult | 'unchanged'> {
    const { file } = this.options;
    let text: string;
    try {
      text = await readConfigText(file);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      if (trigger === 'file' && this.loadedText === undefined) return 'unchanged';
      this.loadedText = undefined;
      return this.invalid(trigger, error);
    }
    if (trigger === 'file' && text === this.loadedText) return 'unchanged';
    this.loadedText = text;
    let next: Config;
    try {
      next = parseConfigText(text, file, this.options.env);
    } catch (error) {
      if (error instanceof ConfigError) return this.invalid(trigger, error);
      throw error;
    }
    const changedKeys = topLevelChanges(this.sidecar.config, next);
    try {
      await this.sidecar.reconfigure(next);
    } catch (error) {
      if (!(error instanceof ReloadRefused)) throw error;
      this.metrics.reloads.labels('refused').inc();
      this.logger.error({ event: 'config_reload_refused', trigger, file, reasons: error.reasons }, `${error.message}; the running configuration keeps serving`);
      return 'refused';
    }
    this.metrics.reloads.labels('success').inc();
    this.metrics.lastSuccess.set(Date.now() / 1000);
    this.logger.info({ event: 'config_reloaded', trigger, file, changed: changedKeys }, 'configuration reloaded');
    return 'success';
  }

  private invalid(trigger: ReloadTrigger, error: ConfigError): 'invalid' {
    this.metrics.reloads.labels('invalid').inc();
    this.logger.error(
      { event: 'config_reload_failed', trigger, file: error.source, problems: error.problems },
      `${error.message}\nthe running configuration keeps serving`,
    );
    return 'invalid';
  }
}

/** The top-level keys whose values differ, for the reload's log line. */
function topLevelChanges(current: Config, next: Config): string[] {
  return (Object.keys(next) as Array<keyof Config>).filter((key) => JSON.stringify(current[key]) !== JSON.stringify(next[key]));
}
