import type { ServerResponse } from 'node:http';

/**
 * How long the first answer of a batch may wait for the others. A turn of the event loop that finds many requests
 * ready holds their answers at most this long, plus the one request being decided when it is reached.
 */
export const MAX_HOLD_MS = 0.25;

/**
 * Answers decided during one turn of the event loop, written together at its end (`setImmediate` runs once the poll
 * phase has handed every ready socket to its handler).
 *
 * An answer written the moment it is decided wakes the client's idle thread for that one answer; under load the next
 * answer follows tens of microseconds later and wakes it again. Written back to back, one wake-up serves the batch.
 * This is what Envoy (write events run after the current callbacks) and Netty (FlushConsolidationHandler) do.
 * Measured in docs/decisions/0006-answers-written-at-the-end-of-the-turn.md.
 *
 * Bounded: a batch is written as soon as its first answer has waited `MAX_HOLD_MS`, whatever is still to come.
 * At low load a batch holds one answer, which waits for nothing but the rest of its own turn.
 */
export class AnswerBatch<T> {
  private readonly responses: ServerResponse[] = [];
  private readonly answers: T[] = [];
  private openedAt = 0;
  private scheduled = false;
  private writing = false;
  private readonly onTurnEnd = (): void => {
    this.scheduled = false;
    this.writeAll();
  };

  /** `write` sends one answer; when it throws, `onWriteError` answers instead and the rest of the batch goes on. */
  constructor(
    private readonly write: (response: ServerResponse, answer: T) => void,
    private readonly onWriteError: (response: ServerResponse, error: unknown) => void,
  ) {}

  add(response: ServerResponse, answer: T): void {
    this.responses.push(response);
    this.answers.push(answer);
    if (this.responses.length === 1) {
      this.openedAt = performance.now();
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.onTurnEnd);
      }
    } else if (performance.now() - this.openedAt >= MAX_HOLD_MS) {
      this.writeAll();
    }
  }

  /** Answers waiting to be written. */
  get size(): number {
    return this.responses.length;
  }

  private writeAll(): void {
    // Writing an answer never decides another one synchronously; the guard makes that an invariant, not a hope.
    if (this.writing) return;
    this.writing = true;
    try {
      // Answers added while writing (none today) stay queued for the next flush rather than being lost.
      const count = this.responses.length;
      for (let index = 0; index < count; index += 1) this.writeOne(this.responses[index]!, this.answers[index]!);
      if (this.responses.length === count) {
        // The usual case: everything queued was written.
        this.responses.length = 0;
        this.answers.length = 0;
      } else {
        this.responses.splice(0, count);
        this.answers.splice(0, count);
        this.openedAt = performance.now();
        if (!this.scheduled) {
          this.scheduled = true;
          setImmediate(this.onTurnEnd);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private writeOne(response: ServerResponse, answer: T): void {
    try {
      this.write(response, answer);
    } catch (error) {
      this.onWriteError(response, error);
    }
  }
}
