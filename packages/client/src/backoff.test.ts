import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, with the random half in between', () => {
    const low = () => 0;
    const high = () => 0.999_999;
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, low, 500, 30_000))).toEqual([250, 500, 1000, 2000]);
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, high, 500, 30_000))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(20, low, 500, 30_000)).toBe(15_000);
    expect(backoffDelay(20, high, 500, 30_000)).toBe(30_000);
    expect(backoffDelay(10_000, high, 500, 30_000)).toBe(30_000); // no overflow to Infinity
  });

  it('spreads a crowd: a thousand clients dropped together do not come back together', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const delays = Array.from({ length: 1000 }, () => backoffDelay(3, random));
    const buckets = new Set(delays.map((d) => Math.floor(d / 100)));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(4000);
    expect(buckets.size).toBeGreaterThanOrEqual(18); // spread over the 2 s window, not one instant
  });
});
