/**
 * Reconnection delays: exponential, capped, with jitter so that a thousand browsers dropped by the
 * same server restart do not come back in the same millisecond ("equal jitter": half the delay is
 * fixed, half random, so no attempt is immediate).
 */
export function backoffDelay(attempt: number, random: () => number = Math.random, base = 500, max = 30_000): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
