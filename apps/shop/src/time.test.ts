import { describe, expect, it } from 'vitest';
import { relativeTime } from './time';

describe('relative times', () => {
  const now = Date.UTC(2025, 10, 20, 12, 0, 0);
  it('reads like a person would say it', () => {
    expect(relativeTime(now - 5_000, now)).toBe('just now');
    expect(relativeTime(now + 5_000, now)).toBe('just now'); // a server clock slightly ahead
    expect(relativeTime(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(relativeTime(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(relativeTime(now - 30 * 3_600_000, now)).toBe('yesterday');
    expect(relativeTime(now - 4 * 86_400_000, now)).toBe('4 days ago');
    expect(relativeTime(now - 40 * 86_400_000, now, 'en-GB')).toMatch(/11 Oct 2025/);
  });
});
