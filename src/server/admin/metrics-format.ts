/** The exposition formats /metrics serves. */
export type MetricsFormat = 'openmetrics' | 'classic';

const OPENMETRICS = 'application/openmetrics-text';
/** OpenMetrics versions whose parsers read what we write (0.0.1 and 1.0.0 differ in nothing we emit). */
const OPENMETRICS_VERSIONS = new Set([undefined, '1.0.0', '0.0.1']);
const CLASSIC_RANGES = new Set(['text/plain', 'text/*', '*/*']);

/**
 * The format a scraper's Accept header prefers, by quality value (RFC 9110, 12.5.1); the earlier range wins a tie,
 * and anything unrecognised gets the classic text format. Prometheus asks for
 * `application/openmetrics-text;version=1.0.0,…,text/plain;version=0.0.4;q=0.5,*\/*;q=0.1` and gets OpenMetrics,
 * with exemplars; curl asks for `*\/*` and gets the text format 0.0.4.
 */
export function preferredMetricsFormat(accept: string | undefined): MetricsFormat {
  let best: MetricsFormat = 'classic';
  let bestQuality = 0;
  for (const range of (accept ?? '').split(',')) {
    const [mediaType = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    let quality = 1;
    let version: string | undefined;
    for (const parameter of parameters) {
      const [name, value = ''] = parameter.split('=', 2).map((part) => part.trim());
      if (name === 'q') quality = Number(value) || 0;
      else if (name === 'version') version = value;
    }
    const format = mediaType === OPENMETRICS && OPENMETRICS_VERSIONS.has(version) ? 'openmetrics' : CLASSIC_RANGES.has(mediaType) ? 'classic' : undefined;
    if (format !== undefined && quality > bestQuality) {
      best = format;
      bestQuality = quality;
    }
  }
  return best;
}
