import { DETECTORS, type Anomaly, type Detector, type DetectorName, type Finding } from './anomaly.js';

/** The port the alerting side implements: what the detectors conclude, step by step. */
export interface AnomalyObserver {
  /** Called at every step while the anomaly lasts, with its current figures; `startsAtMs` never changes. */
  firing(anomaly: Anomaly): void;
  /** Called once, at the first step the series is no longer anomalous. */
  resolved(anomaly: Anomaly, atMs: number): void;
}

export interface DetectorStatus {
  readonly detector: DetectorName;
  readonly active: number;
  readonly score: number;
}

/**
 * Steps every detector on a timer, off the request path: the observers only add to counters, and each step folds
 * them, scores every series and tells the observer which anomalies start, last and end. `step` takes the time, so
 * the scenario runner can replay a day in seconds on a virtual clock.
 */
export class AnomalyDetection {
  private active = new Map<string, Anomaly>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly detectors: readonly Detector[],
    private readonly observer: AnomalyObserver,
    private readonly stepMs: number,
  ) {}

  start(now: () => number = Date.now): void {
    this.timer ??= setInterval(() => this.step(now()), this.stepMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  step(nowMs: number): void {
    const previous = this.active;
    const current = new Map<string, Anomaly>();
    const record = (finding: Finding) => {
      // Series keys are unique within a detector; the detector's name makes them unique across detectors.
      const key = `${finding.detector}\n${finding.key}`;
      const anomaly: Anomaly = { ...finding, key, startsAtMs: previous.get(key)?.startsAtMs ?? nowMs };
      current.set(key, anomaly);
      this.observer.firing(anomaly);
    };
    for (const detector of this.detectors) detector.step(nowMs, record);
    for (const [key, anomaly] of previous) if (!current.has(key)) this.observer.resolved(anomaly, nowMs);
    this.active = current;
  }

  /** Per detector, whether it is on: active anomalies and the highest score of the last step. */
  status(): DetectorStatus[] {
    return DETECTORS.map((name) => {
      const detector = this.detectors.find((candidate) => candidate.name === name);
      let active = 0;
      for (const anomaly of this.active.values()) if (anomaly.detector === name) active += 1;
      return { detector: name, active, score: detector?.maxScore ?? 0 };
    });
  }
}
