import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { TRACE_ID_LABEL } from '../../src/observability/metrics/exemplar.js';

interface Datasource {
  name: string;
  type: string;
  uid: string;
  url: string;
  jsonData?: { exemplarTraceIdDestinations?: Array<{ name: string; datasourceUid?: string }> };
}

const provisioning = parse(readFileSync(new URL('../../deploy/grafana/datasources.yaml', import.meta.url), 'utf8')) as { apiVersion: number; datasources: Datasource[] };

describe('the Grafana data source example (deploy/grafana/datasources.yaml)', () => {
  test('is a provisioning file whose Prometheus data source sends the exemplar label tokenwatch writes to a tracing data source it defines', () => {
    expect(provisioning.apiVersion).toBe(1);
    const prometheus = provisioning.datasources.find((source) => source.type === 'prometheus')!;
    const destinations = prometheus.jsonData?.exemplarTraceIdDestinations ?? [];
    expect(destinations.map((destination) => destination.name)).toEqual([TRACE_ID_LABEL]);
    const tracing = provisioning.datasources.find((source) => source.uid === destinations[0]!.datasourceUid);
    expect(['tempo', 'jaeger']).toContain(tracing?.type);
  });

  test('defines a Tempo and a Jaeger data source with unique uids, each with a URL', () => {
    expect(provisioning.datasources.map((source) => source.type).sort()).toEqual(['jaeger', 'prometheus', 'tempo']);
    expect(new Set(provisioning.datasources.map((source) => source.uid)).size).toBe(provisioning.datasources.length);
    for (const source of provisioning.datasources) expect(() => new URL(source.url), source.name).not.toThrow();
  });
});
