import { describe, expect, it } from 'vitest';
import { ClientIdLabels } from '../../src/idp-events/client-ids.js';
import { SessionEstimate } from '../../src/idp-events/sessions.js';

const MINUTE = 60_000;

describe('SessionEstimate', () => {
  it('counts distinct sessions with activity inside the idle timeout', () => {
    const sessions = new SessionEstimate(30 * MINUTE);
    sessions.touch('a', 0);
    sessions.touch('a', 5 * MINUTE);
    sessions.touch('b', 10 * MINUTE);
    expect(sessions.count(20 * MINUTE)).toBe(2);
    expect(sessions.count(36 * MINUTE)).toBe(1);
    expect(sessions.count(41 * MINUTE)).toBe(0);
  });

  it('drops a session that ended', () => {
    const sessions = new SessionEstimate(30 * MINUTE);
    sessions.touch('a', 0);
    sessions.touch('b', 0);
    sessions.end('a');
    sessions.end('never-seen');
    expect(sessions.count(1)).toBe(1);
  });

  it('keeps the later activity when events arrive out of order', () => {
    const sessions = new SessionEstimate(30 * MINUTE);
    sessions.touch('a', 20 * MINUTE);
    sessions.touch('a', 1 * MINUTE);
    expect(sessions.count(45 * MINUTE)).toBe(1);
  });

  it('stays within its cap by evicting the session idle the longest', () => {
    const sessions = new SessionEstimate(30 * MINUTE, 3);
    sessions.touch('a', 1);
    sessions.touch('b', 2);
    sessions.touch('c', 3);
    sessions.touch('a', 4);
    sessions.touch('d', 5);
    expect(sessions.count(10)).toBe(3);
    sessions.end('a');
    sessions.end('c');
    sessions.end('d');
    expect(sessions.count(10)).toBe(0);
  });
});

describe('ClientIdLabels', () => {
  it('keeps the first N client ids and counts the rest as other', () => {
    const labels = new ClientIdLabels(2);
    expect(['a', 'b', 'c', 'a', 'b', 'c'].map((id) => labels.label(id))).toEqual(['a', 'b', 'other', 'a', 'b', 'other']);
  });

  it('labels a missing client id unknown without taking a slot', () => {
    const labels = new ClientIdLabels(1);
    expect(labels.label(undefined)).toBe('unknown');
    expect(labels.label('a')).toBe('a');
  });

  it('does not give a slot to an absurdly long client id', () => {
    const labels = new ClientIdLabels(1);
    expect(labels.label('x'.repeat(200))).toBe('other');
    expect(labels.label('real')).toBe('real');
  });
});
