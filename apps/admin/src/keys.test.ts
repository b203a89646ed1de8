import { describe, expect, it } from 'vitest';
import type { SigningKey } from './admin-api';
import { describeKeys, signingKid } from './keys';

const MIN = 60_000;
const T = Date.UTC(2030, 0, 1);

/** A first key, a rotation at T+1h (published 10 minutes ahead), and the retired key's JWKS window. */
const first: SigningKey = { kid: 'first', createdAt: T, activatesAt: T, retiresAt: T + 70 * MIN, expiresAt: T + 80.5 * MIN };
const second: SigningKey = { kid: 'second', createdAt: T + 60 * MIN, activatesAt: T + 70 * MIN, retiresAt: null, expiresAt: null };

describe('the signing keys panel', () => {
  it('only one key: it signs', () => {
    const only = { ...first, retiresAt: null, expiresAt: null };
    expect(describeKeys({ keys: [only], now: T + 1 }).map((k) => [k.kid, k.state, k.label])).toEqual([['first', 'signing', 'signs now']]);
  });

  it('during a rotation: the old key signs until the new one activates, then only verifies, then leaves JWKS', () => {
    const at = (now: number) => describeKeys({ keys: [first, second], now }).map((k) => `${k.kid}:${k.state}`);
    expect(at(T + 65 * MIN)).toEqual(['second:published', 'first:signing']);
    expect(at(T + 70 * MIN)).toEqual(['second:signing', 'first:retired']);
    expect(at(T + 80.5 * MIN)).toEqual(['second:signing', 'first:expired']);
  });

  it('a key retired before it ever signed (rotated again with --now) is retired, not waiting', () => {
    const skipped: SigningKey = { ...second, retiresAt: T + 62 * MIN, expiresAt: T + 72.5 * MIN };
    const third: SigningKey = { kid: 'third', createdAt: T + 62 * MIN, activatesAt: T + 62 * MIN, retiresAt: null, expiresAt: null };
    const keys = [{ ...first, retiresAt: T + 62 * MIN, expiresAt: T + 72.5 * MIN }, skipped, third];
    expect(describeKeys({ keys, now: T + 63 * MIN }).map((k) => `${k.kid}:${k.state}`)).toEqual(['second:retired', 'third:signing', 'first:retired']);
  });

  it('the signer follows the engine: the newest active key not retired (ties by kid)', () => {
    const a: SigningKey = { kid: 'a', createdAt: T, activatesAt: T, retiresAt: null, expiresAt: null };
    const b: SigningKey = { ...a, kid: 'b' };
    expect(signingKid([b, a], T)).toBe('a');
    expect(signingKid([a], T - 1)).toBeNull();
  });
});
