import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';
import { TesseraError } from './errors.js';
import { DEFAULT_POLICY, resolvePolicy, revocationRetention } from './policy.js';

const configError = (fn: () => unknown, mentions: string) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TesseraError);
    expect((error as TesseraError).code).toBe('invalid_config');
    expect((error as TesseraError).message).toContain(mentions);
    return;
  }
  throw new Error('expected invalid_config');
};

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['7d', 604_800_000],
    ['250ms', 250],
    ['1h30m', 5_400_000],
    ['1500', 1500],
    [2000, 2000],
  ])('parses %j', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 'soon', '10 m', '-5s', '1.5h', '10x', 's10', -1, 1.5, Number.NaN])('rejects %j naming the setting', (bad) => {
    configError(() => parseDuration(bad as string, 'TESSERA_ACCESS_TTL'), 'TESSERA_ACCESS_TTL');
  });
});

describe('policy', () => {
  it('has the documented defaults', () => {
    expect(resolvePolicy()).toEqual({
      ...DEFAULT_POLICY,
      accessTtl: 600_000,
      idleTimeout: 7 * 86_400_000,
      absoluteTimeout: 30 * 86_400_000,
      leeway: 30_000,
      maxSessionsPerUser: 10,
      onLimit: 'evict-oldest',
      refreshGrace: 10_000,
    });
  });

  it('takes durations as text or milliseconds, and counts as text or numbers', () => {
    expect(resolvePolicy({ accessTtl: '5m', idleTimeout: 3_600_000, maxSessionsPerUser: '3', onLimit: 'reject' })).toMatchObject({
      accessTtl: 300_000,
      idleTimeout: 3_600_000,
      maxSessionsPerUser: 3,
      onLimit: 'reject',
    });
  });

  it('names the bad setting', () => {
    configError(() => resolvePolicy({ onLimit: 'kick' as never }), 'onLimit');
    configError(() => resolvePolicy({ maxSessionsPerUser: -1 }), 'maxSessionsPerUser');
    configError(() => resolvePolicy({ maxSessionsPerUser: 'many' }), 'maxSessionsPerUser');
    configError(() => resolvePolicy({ idleTimeout: '30d', absoluteTimeout: '7d' }), 'absoluteTimeout');
    configError(() => resolvePolicy({ accessTtl: '10ms' }), 'accessTtl');
    configError(() => resolvePolicy({ feedFallback: 'accept' as never }), 'feedFallback');
    configError(() => resolvePolicy({ acessTtl: '5m' } as never), 'acessTtl');
  });

  it('keeps revocations at least as long as an access token can be accepted', () => {
    const policy = resolvePolicy({ accessTtl: '5m', leeway: '30s' });
    expect(revocationRetention(policy)).toBeGreaterThanOrEqual(policy.accessTtl + policy.leeway);
  });
});
