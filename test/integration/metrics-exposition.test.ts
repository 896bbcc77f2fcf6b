import { describe, expect, test } from 'vitest';
import { useJwksServer } from '../support/jwks-server.js';
import { bearer, useTestSidecar } from '../support/sidecar.js';
import { promtoolCheckMetrics } from '../support/tools.js';

/** What Prometheus 2 sends when it scrapes. */
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const idp = useJwksServer();
const sidecar = useTestSidecar(() => ({ issuers: [{ issuer: idp().issuer, audiences: ['orders-api'] }] }));

async function scrape(accept?: string): Promise<{ contentType: string | null; text: string }> {
  const response = await fetch(`${sidecar().adminUrl}/metrics`, accept === undefined ? {} : { headers: { accept } });
  expect(response.status).toBe(200);
  return { contentType: response.headers.get('content-type'), text: await response.text() };
}

/** The metric families of an exposition as its TYPE lines say them. */
const families = (text: string) => text.split('\n').filter((line) => line.startsWith('# TYPE '));

async function traffic(): Promise<void> {
  expect((await sidecar().request('/api/x', bearer(await idp().sign({ aud: 'orders-api', sub: 'u' })))).status).toBe(200);
  expect((await sidecar().request('/api/x', bearer('not-a-jwt'))).status).toBe(401);
}

describe('/metrics in the format the scraper asks for', () => {
  test('Prometheus gets OpenMetrics: its content type, counters typed without _total and sampled with it, and # EOF', async () => {
    await traffic();
    const { contentType, text } = await scrape(PROMETHEUS_ACCEPT);
    expect(contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(text).toContain('# TYPE token_validation_failure counter\n');
    expect(text).toContain('token_validation_failure_total{reason="malformed",issuer="unknown"} 1');
    expect(text).toContain('# TYPE process_cpu_seconds counter\n');
    expect(text).toContain('# TYPE token_validation_duration_seconds histogram\n');
    expect(text.endsWith('\n# EOF\n')).toBe(true);
  });

  test('curl, which asks for anything, gets the classic text format 0.0.4', async () => {
    const { contentType, text } = await scrape('*/*');
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text).toContain('# TYPE token_validation_failure_total counter\n');
    expect(text).not.toContain('# EOF');
  });

  test('OpenMetrics and classic scrapes alternate without either changing the other', async () => {
    const classic = families((await scrape()).text);
    const openMetrics = families((await scrape(PROMETHEUS_ACCEPT)).text);
    for (let round = 0; round < 3; round += 1) {
      await traffic();
      expect(families((await scrape(PROMETHEUS_ACCEPT)).text)).toEqual(openMetrics);
      const { text } = await scrape();
      expect(families(text)).toEqual(classic);
      expect(await promtoolCheckMetrics(text)).toEqual({ code: 0, output: '' });
    }
    expect(classic).toContain('# TYPE token_validation_total counter');
    expect(openMetrics).toContain('# TYPE token_validation counter');
  });

  test('without tracing, neither format carries an exemplar', async () => {
    await traffic();
    expect((await scrape(PROMETHEUS_ACCEPT)).text).not.toContain(' # {');
    expect((await scrape()).text).not.toContain('trace_id');
  });
});
