import type { Counter } from 'prom-client';
import type { LineParser } from './event.js';
import type { IssuerRecorder } from './issuance.js';
import type { LineSink, UnreadableLine } from './lines.js';
import { EVENT_LINE_RESULTS } from '../observability/catalog/metrics.js';
import type { IdpEventMetrics } from './metrics.js';

/**
 * The sink for one followed file: each line is parsed, counted in idp_event_lines_total{file, result}, and a
 * parsed event goes to its issuer's recorder. A parser bug must not stop the follower: a throw counts as
 * malformed (the parsers are written not to throw, and a property test holds them to it).
 */
export function eventLineSink(
  file: string,
  parse: LineParser,
  recorder: IssuerRecorder,
  metrics: IdpEventMetrics,
  now: () => number = Date.now,
): LineSink {
  const [parsed, ignored, malformed] = EVENT_LINE_RESULTS.map((result) => {
    const counter = metrics.lines.labels({ file, result });
    // Present from the start at 0, so rate() and absent-series alerts work before the first line.
    counter.inc(0);
    return counter;
  }) as [Counter.Internal, Counter.Internal, Counter.Internal];

  return {
    line(text: string): void {
      let result;
      try {
        result = parse(text);
      } catch {
        result = 'malformed' as const;
      }
      if (result === 'ignored') ignored.inc();
      else if (result === 'malformed') malformed.inc();
      else {
        recorder.record(result, now());
        parsed.inc();
      }
    },
    unreadable(_reason: UnreadableLine): void {
      malformed.inc();
    },
  };
}
