/**
 * P(X ≥ count) for X ~ Poisson(mean): how likely a window holding `count` events is when the series runs at its
 * baseline. Only called for a window already scoring past the factor (count well above the mean), where the terms
 * of the tail fall from the first, so a few dozen of them settle it.
 */
export function poissonUpperTail(count: number, mean: number): number {
  if (count <= 0) return 1;
  if (mean <= 0) return 0;
  let term = Math.exp(-mean + count * Math.log(mean) - logFactorial(count));
  let tail = 0;
  for (let i = count; term > tail * 1e-12 && term > 0; i++) {
    tail += term;
    term *= mean / (i + 1);
    if (i - count > 10_000) break;
  }
  return Math.min(1, tail);
}

const SMALL_LOG_FACTORIALS = [0, 0, Math.log(2), Math.log(6), Math.log(24), Math.log(120), Math.log(720), Math.log(5040), Math.log(40_320), Math.log(362_880)];

/** ln(n!), exact below 10, Stirling's series beyond (error under 1e-10 there). */
function logFactorial(n: number): number {
  if (n < SMALL_LOG_FACTORIALS.length) return SMALL_LOG_FACTORIALS[n]!;
  return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + 1 / (12 * n) - 1 / (360 * n ** 3);
}
