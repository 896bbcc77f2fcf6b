import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { AnswerBatch, MAX_HOLD_MS } from '../../src/server/forward-auth/answer-batch.js';

/** Stand-ins for responses: the batch only passes them back to `write`, never touches them. */
const response = (id: number) => ({ id }) as unknown as ServerResponse;
const idOf = (value: ServerResponse) => (value as unknown as { id: number }).id;
const endOfTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function recordingBatch() {
  const written: Array<[number, string]> = [];
  const failed: Array<[number, string]> = [];
  const batch = new AnswerBatch<string>(
    (target, answer) => {
      if (answer === 'throws') throw new Error(`write of ${idOf(target)} failed`);
      written.push([idOf(target), answer]);
    },
    (target, error) => failed.push([idOf(target), (error as Error).message]),
  );
  return { batch, written, failed };
}

afterEach(() => vi.restoreAllMocks());

describe('AnswerBatch', () => {
  test('answers added during a turn are written together at its end, in the order they were decided', async () => {
    const { batch, written } = recordingBatch();
    for (let id = 1; id <= 5; id += 1) batch.add(response(id), `answer ${id}`);
    expect(written).toEqual([]);
    expect(batch.size).toBe(5);
    await endOfTurn();
    expect(written).toEqual([1, 2, 3, 4, 5].map((id) => [id, `answer ${id}`]));
    expect(batch.size).toBe(0);
  });

  test('a lone answer waits for nothing but the end of its own turn, and later turns get batches of their own', async () => {
    const { batch, written } = recordingBatch();
    batch.add(response(1), 'first');
    await endOfTurn();
    expect(written).toEqual([[1, 'first']]);
    batch.add(response(2), 'second');
    batch.add(response(3), 'third');
    await endOfTurn();
    expect(written).toEqual([
      [1, 'first'],
      [2, 'second'],
      [3, 'third'],
    ]);
  });

  test('a batch whose first answer has waited MAX_HOLD_MS is written at once, without waiting for the turn to end', async () => {
    let now = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const { batch, written } = recordingBatch();
    batch.add(response(1), 'a');
    now += MAX_HOLD_MS / 2;
    batch.add(response(2), 'b');
    expect(written).toEqual([]);
    now += MAX_HOLD_MS / 2;
    batch.add(response(3), 'c');
    expect(written.map(([id]) => id)).toEqual([1, 2, 3]);
    // The next answer opens a new batch, held until the end of the turn like any other.
    batch.add(response(4), 'd');
    expect(written.map(([id]) => id)).toEqual([1, 2, 3]);
    await endOfTurn();
    expect(written.map(([id]) => id)).toEqual([1, 2, 3, 4]);
  });

  test('an answer whose write throws is answered by onWriteError; the rest of its batch is still written', async () => {
    const { batch, written, failed } = recordingBatch();
    batch.add(response(1), 'ok 1');
    batch.add(response(2), 'throws');
    batch.add(response(3), 'ok 3');
    await endOfTurn();
    expect(written).toEqual([
      [1, 'ok 1'],
      [3, 'ok 3'],
    ]);
    expect(failed).toEqual([[2, 'write of 2 failed']]);
    expect(batch.size).toBe(0);
  });

  test('an answer added while a batch is being written is kept for the next write, never lost or written twice', async () => {
    const written: number[] = [];
    const batch: AnswerBatch<number> = new AnswerBatch<number>(
      (_target, answer) => {
        written.push(answer);
        if (answer === 2) batch.add(response(99), 99);
      },
      () => undefined,
    );
    batch.add(response(1), 1);
    batch.add(response(2), 2);
    await endOfTurn();
    expect(written).toEqual([1, 2]);
    expect(batch.size).toBe(1);
    await endOfTurn();
    expect(written).toEqual([1, 2, 99]);
    expect(batch.size).toBe(0);
  });
});
