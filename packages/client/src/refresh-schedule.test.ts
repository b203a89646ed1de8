import { describe, expect, it } from 'vitest';
import { refreshDelay, refreshDueAt } from './refresh-schedule.js';
import { clockOffset } from './server-clock.js';

const MIN = 60_000;

describe('refresh scheduling', () => {
  it('refreshes a ten-minute token one margin before it expires', () => {
    expect(refreshDueAt(10 * MIN, 10 * MIN, MIN)).toBe(9 * MIN);
    expect(refreshDelay(10 * MIN, 10 * MIN, MIN, 0)).toBe(9 * MIN);
  });

  it('caps the margin at a quarter of the lifetime, so a short token is still used', () => {
    expect(refreshDueAt(4000, 4000, MIN)).toBe(3000);
    expect(refreshDelay(4000, 4000, MIN, 1000)).toBe(2000);
  });

  it('is due at once when overdue or expired, never negative', () => {
    expect(refreshDelay(10 * MIN, 10 * MIN, MIN, 9 * MIN)).toBe(0);
    expect(refreshDelay(10 * MIN, 10 * MIN, MIN, 11 * MIN)).toBe(0);
  });

  it('is decided on the server clock: a local clock 5 minutes slow neither refreshes late nor loops', () => {
    const local = 1_000_000_000;
    const server = local + 5 * MIN;
    // A token issued now by the server, for 10 minutes; the response came back after 100 ms.
    const offset = clockOffset(server + 50, local, local + 100);
    const expiresAt = server + 10 * MIN;
    const delay = refreshDelay(expiresAt, 10 * MIN, MIN, local + 100 + offset);
    expect(delay).toBeGreaterThan(9 * MIN - 200);
    expect(delay).toBeLessThanOrEqual(9 * MIN);
    // Read against the local clock alone, the same token would look 5 minutes younger: refresh 5 minutes late.
    expect(refreshDelay(expiresAt, 10 * MIN, MIN, local + 100) - delay).toBeGreaterThan(5 * MIN - 200);
  });

  it('a local clock 15 minutes fast would see every fresh token as expired; the offset prevents the loop', () => {
    const server = 2_000_000_000;
    const local = server + 15 * MIN;
    const offset = clockOffset(server, local, local);
    expect(refreshDelay(server + 10 * MIN, 10 * MIN, MIN, local)).toBe(0); // without the offset: refresh, forever
    expect(refreshDelay(server + 10 * MIN, 10 * MIN, MIN, local + offset)).toBe(9 * MIN);
  });
});
