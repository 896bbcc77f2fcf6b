/** Polls `check` until it stops throwing (or returns true), for at most `timeoutMs`. */
export async function eventually<T>(check: () => T | false | Promise<T | false>, timeoutMs = 5000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const result = await check();
      if (result !== false) return result as T;
      if (Date.now() > deadline) throw new Error('condition stayed false');
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
