import { describe, expect, it } from 'vitest';
import { clockOffset } from './server-clock.js';

describe('clockOffset', () => {
  it('is zero when the clocks agree and the server answered halfway', () => {
    expect(clockOffset(1_000_050, 1_000_000, 1_000_100)).toBe(0);
  });

  it('measures a local clock that runs behind or ahead of the server', () => {
    // The laptop is 5 minutes slow: the server says 12:05 while the laptop says 12:00.
    expect(clockOffset(1_300_050, 1_000_000, 1_000_100)).toBe(300_000);
    expect(clockOffset(700_050, 1_000_000, 1_000_100)).toBe(-300_000);
  });

  it('errs by at most half the round trip', () => {
    // The server read its clock at the very start or the very end of a 400 ms round trip.
    expect(Math.abs(clockOffset(1_000_000, 1_000_000, 1_000_400))).toBeLessThanOrEqual(200);
    expect(Math.abs(clockOffset(1_000_400, 1_000_000, 1_000_400))).toBeLessThanOrEqual(200);
  });
});
