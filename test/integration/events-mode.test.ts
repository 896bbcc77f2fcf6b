import { appendFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { eventually } from '../support/eventually.js';
import { useJwksServer } from '../support/jwks-server.js';
import { bearer, sampleValue, startTestSidecar } from '../support/sidecar.js';

const dir = await mkdtemp(join(tmpdir(), 'tokenwatch-events-mode-'));
const jwks = useJwksServer();
const issued = (client: string) => `${JSON.stringify({ event: 'token_issued', client_id: client, grant_type: 'client_credentials', token_type: 'access' })}\n`;

describe('IdP event logs in the sidecar', () => {
  test('mode: events runs only the admin listener and the followers', async () => {
    const file = join(dir, 'events.jsonl');
    await writeFile(file, issued('a') + issued('b'));
    const sidecar = await startTestSidecar({ mode: 'events', idpEvents: [{ path: file, format: 'jsonl', issuer: 'https://idp.example.com', fromBeginning: true }] });
    try {
      expect(sidecar.dataPlaneUrl).toBe('');
      await appendFile(file, issued('a'));
      await eventually(async () => {
        const text = await sidecar.metricsText();
        expect(sampleValue(text, 'token_issuance_total', { issuer: 'https://idp.example.com', client_id: 'a' })).toBe(2);
        expect(sampleValue(text, 'token_issuance_total', { client_id: 'b' })).toBe(1);
      });
      expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200);
    } finally {
      await sidecar.shutdown();
    }
  });

  test('idpEvents combine with a data-plane mode on one registry', async () => {
    const file = join(dir, 'combined.jsonl');
    await writeFile(file, issued('svc'));
    const sidecar = await startTestSidecar({
      issuers: [{ issuer: jwks().issuer, audiences: ['orders-api'] }],
      idpEvents: [{ path: file, format: 'jsonl', issuer: jwks().issuer, fromBeginning: true }],
    });
    try {
      expect((await sidecar.request('/x', bearer(await jwks().sign({ aud: 'orders-api', sub: 'u' })))).status).toBe(200);
      await eventually(async () => {
        const text = await sidecar.metricsText();
        expect(sampleValue(text, 'token_issuance_total', { client_id: 'svc' })).toBe(1);
        expect(sampleValue(text, 'token_validation_total', { result: 'success', issuer: jwks().issuer })).toBe(1);
      });
    } finally {
      await sidecar.shutdown();
    }
  });
});
