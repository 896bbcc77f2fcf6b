import { appendFileSync } from 'node:fs';

/**
 * Appends `token_issued` lines (the jsonl format) to an IdP event log at set rates per client, every 100 ms, as an
 * IdP would. `noise` spreads each tick's count uniformly between (1 - noise) and (1 + noise) of the rate.
 */
export interface IssuanceWriter {
  setRate(client: string, perSecond: number): void;
  stop(): void;
}

export function startIssuanceWriter(path: string, rates: Record<string, number>, noise = 0): IssuanceWriter {
  const current = new Map(Object.entries(rates));
  const carried = new Map<string, number>();
  const timer = setInterval(() => {
    let text = '';
    for (const [client, perSecond] of current) {
      const exact = (carried.get(client) ?? 0) + (perSecond / 10) * (1 + noise * (2 * Math.random() - 1));
      const whole = Math.floor(exact);
      carried.set(client, exact - whole);
      for (let i = 0; i < whole; i++) {
        text += `${JSON.stringify({ event: 'token_issued', client_id: client, grant_type: 'client_credentials', token_type: 'access' })}\n`;
      }
    }
    if (text !== '') appendFileSync(path, text);
  }, 100);
  return {
    setRate: (client, perSecond) => void current.set(client, perSecond),
    stop: () => clearInterval(timer),
  };
}
