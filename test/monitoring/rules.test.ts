import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { alertGroups } from '../../monitoring/rules/alerts.js';
import { recordingGroups } from '../../monitoring/rules/recording.js';
import type { AlertingRule, RecordingRule } from '../../monitoring/rules/types.js';
import { execFileAsync, requireTool } from '../support/tools.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const RULE_FILES = ['alerts/tokenwatch-rules.yaml', 'alerts/tokenwatch-alerts.yaml'].map((path) => join(ROOT, path));
const TEST_FILES = readdirSync(join(ROOT, 'alerts/tests'))
  .filter((name) => name.endsWith('.yaml'))
  .map((name) => join(ROOT, 'alerts/tests', name));

const alerts = alertGroups().flatMap((group) => group.rules as AlertingRule[]);
const alertNames = [...new Set(alerts.map((rule) => rule.alert))];
const records = recordingGroups().flatMap((group) => group.rules as RecordingRule[]);

interface AlertRuleTest {
  alertname: string;
  exp_alerts: unknown[] | null;
}

/** Every alert_rule_test of every promtool test file. */
function alertRuleTests(): AlertRuleTest[] {
  return TEST_FILES.flatMap((file) => {
    const suite = parse(readFileSync(file, 'utf8')) as { tests: Array<{ alert_rule_test?: AlertRuleTest[] }> };
    return suite.tests.flatMap((testCase) => testCase.alert_rule_test ?? []);
  });
}

describe('the Prometheus rules', () => {
  test('promtool check rules finds every rule file clean', async () => {
    const promtool = requireTool('promtool', 'prometheus');
    const { stdout, stderr } = await execFileAsync(promtool, ['check', 'rules', ...RULE_FILES]);
    expect(`${stdout}${stderr}`).not.toMatch(/WARNING|FAILED/);
    expect(stdout.match(/SUCCESS/g)).toHaveLength(RULE_FILES.length);
  });

  test('promtool test rules passes every unit test under alerts/tests', async () => {
    const promtool = requireTool('promtool', 'prometheus');
    const { stdout, stderr } = await execFileAsync(promtool, ['test', 'rules', ...TEST_FILES], { cwd: join(ROOT, 'alerts/tests') });
    expect(`${stdout}${stderr}`).not.toMatch(/FAILED/);
    expect(stdout.match(/SUCCESS/g)).toHaveLength(TEST_FILES.length);
  }, 60_000);

  test('every alert has a promtool case where it fires and one where it stays silent', () => {
    const cases = alertRuleTests();
    for (const name of alertNames) {
      const ofAlert = cases.filter((testCase) => testCase.alertname === name);
      expect(ofAlert.some((testCase) => (testCase.exp_alerts ?? []).length > 0), `${name} fires somewhere`).toBe(true);
      expect(ofAlert.some((testCase) => (testCase.exp_alerts ?? []).length === 0), `${name} stays silent somewhere`).toBe(true);
    }
  });

  test('every severity of every alert fires in some promtool case, with its exact labels and annotations', () => {
    const cases = alertRuleTests();
    for (const rule of alerts) {
      const fired = cases
        .filter((testCase) => testCase.alertname === rule.alert)
        .flatMap((testCase) => (testCase.exp_alerts ?? []) as Array<{ exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }>);
      const matching = fired.filter((expected) => Object.entries(rule.labels).every(([label, value]) => expected.exp_labels[label] === value));
      expect(matching.length, `${rule.alert} ${JSON.stringify(rule.labels)}`).toBeGreaterThan(0);
      for (const expected of matching) expect(Object.keys(expected.exp_annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
    }
  });

  test('every alert carries a severity that pages or tickets, a summary, a description and its runbook section', () => {
    const runbook = readFileSync(join(ROOT, 'docs/runbook.md'), 'utf8');
    const headings = new Set([...runbook.matchAll(/^## (\S+)$/gm)].map((match) => match[1]!.toLowerCase()));
    for (const rule of alerts) {
      expect(['critical', 'warning']).toContain(rule.labels.severity);
      expect(rule.annotations.summary).not.toContain('{{');
      expect(rule.annotations.description.length).toBeGreaterThan(20);
      const anchor = rule.annotations.runbook_url.split('#')[1]!;
      expect(anchor).toBe(rule.alert.toLowerCase());
      expect(headings.has(anchor), `docs/runbook.md has a "## ${rule.alert}" section`).toBe(true);
    }
  });

  test('docs/alerts.md lists every alert', () => {
    const documented = readFileSync(join(ROOT, 'docs/alerts.md'), 'utf8');
    for (const name of alertNames) expect(documented, name).toContain(`### ${name}`);
  });

  test('recording rules are named level:metric:operations, each once', () => {
    const names = records.map((rule) => rule.record);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z_]+:[a-z_]+:[a-z0-9_]+$/);
  });

  test('every ratio an alert compares has a minimum-volume guard', () => {
    for (const rule of alerts.filter((candidate) => /ratio/.test(candidate.expr))) {
      expect(rule.expr, rule.alert).toMatch(/\nand\n[^\n]*:rate\d+[mhd][^\n]* > [0-9.]+$/);
    }
  });
});
