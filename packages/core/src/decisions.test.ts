import { describe, expect, it } from 'vitest';
import { decideRotation, planAdmission, type RotateInput } from './decisions.js';
import { hashSecret } from './ids.js';
import type { SessionRecord } from './session.js';

const T = 1_000_000;
const sids = (plan: SessionRecord[] | 'reject') => (plan === 'reject' ? plan : plan.map((s) => s.sid));
function record(sid: string, lastSeenAt: number, extra: Partial<SessionRecord> = {}): SessionRecord {
  return {
    sid,
    userId: 'u',
    device: { name: 'd', kind: 'other' },
    ip: null,
    userAgent: null,
    createdAt: 0,
    lastSeenAt,
    idleExpiresAt: T * 10,
    absoluteExpiresAt: T * 20,
    refresh: { hash: hashSecret('s0'), previousHash: null, olderHashes: [], rotatedAt: 0, generation: 0, successor: null },
    revokedAt: null,
    revokeReason: null,
    claims: null,
    ...extra,
  };
}

describe('planAdmission', () => {
  it('admits below the limit, evicts the least recently seen at it, or rejects', () => {
    const existing = [record('b', 20), record('a', 10), record('c', 30)];
    expect(planAdmission(existing, T, 4, 'evict-oldest')).toEqual([]);
    expect(sids(planAdmission(existing, T, 3, 'evict-oldest'))).toEqual(['a']);
    expect(sids(planAdmission(existing, T, 1, 'evict-oldest'))).toEqual(['a', 'b', 'c']);
    expect(planAdmission(existing, T, 3, 'reject')).toBe('reject');
    expect(planAdmission(existing, T, 0, 'reject')).toEqual([]);
  });

  it('breaks ties by creation time, then sid', () => {
    const tied = [record('z', 5, { createdAt: 1 }), record('y', 5, { createdAt: 2 }), record('x', 5, { createdAt: 1 })];
    expect(sids(planAdmission(tied, T, 1, 'evict-oldest'))).toEqual(['x', 'z', 'y']);
  });

  it('ignores revoked and expired sessions', () => {
    const existing = [record('a', 1, { revokedAt: 5, revokeReason: 'logout' }), record('b', 2, { idleExpiresAt: T - 1 }), record('c', 3)];
    expect(planAdmission(existing, T, 2, 'reject')).toEqual([]);
  });
});

describe('decideRotation', () => {
  const input = (presented: string, now = T, extra: Partial<RotateInput> = {}): RotateInput => ({
    sid: 's',
    presentedHash: hashSecret(presented),
    now,
    next: { hash: hashSecret('s1'), successor: 'sealed-s1' },
    idleTimeout: T,
    refreshGrace: 10_000,
    refreshHistory: 3,
    retention: 1000,
    ...extra,
  });

  it('rotates on the current secret, sliding idle expiry but never past the absolute one', () => {
    const { result, write } = decideRotation(record('s', 0), input('s0'));
    expect(result.outcome).toBe('rotated');
    expect(write?.refresh).toEqual({ hash: hashSecret('s1'), previousHash: hashSecret('s0'), olderHashes: [], rotatedAt: T, generation: 1, successor: 'sealed-s1' });
    expect(write?.idleExpiresAt).toBe(2 * T);
    const capped = decideRotation(record('s', 0, { absoluteExpiresAt: T + 5 }), input('s0'));
    expect(capped.write?.idleExpiresAt).toBe(T + 5);
  });

  it('returns the stored successor for the previous secret within the grace window only', () => {
    const rotated = decideRotation(record('s', 0), input('s0')).write!;
    expect(decideRotation(rotated, input('s0', T + 10_000)).result).toEqual({ outcome: 'grace', session: rotated, successor: 'sealed-s1' });
    const late = decideRotation(rotated, input('s0', T + 10_001));
    expect(late.result.outcome).toBe('reuse');
    expect(late.write).toMatchObject({ revokedAt: T + 10_001, revokeReason: 'reuse_detected' });
  });

  it('keeps refreshHistory superseded hashes and forgets older ones', () => {
    let current = record('s', 0);
    for (let i = 1; i <= 5; i++) {
      current = decideRotation(current, input(`s${i - 1}`, T + i * 20_000, { next: { hash: hashSecret(`s${i}`), successor: `x${i}` } })).write!;
    }
    expect(current.refresh.previousHash).toBe(hashSecret('s4'));
    expect(current.refresh.olderHashes).toEqual([hashSecret('s3'), hashSecret('s2')]);
    expect(decideRotation(current, input('s2', T + 200_000)).result.outcome).toBe('reuse');
    expect(decideRotation(current, input('s1', T + 200_000)).result.outcome).toBe('invalid');
  });

  it('answers revoked, expired and invalid without writing', () => {
    expect(decideRotation(record('s', 0, { revokedAt: 1, revokeReason: 'admin' }), input('s0'))).toMatchObject({ result: { outcome: 'revoked' }, write: null });
    expect(decideRotation(record('s', 0, { idleExpiresAt: T }), input('s0'))).toMatchObject({ result: { outcome: 'expired' }, write: null });
    expect(decideRotation(record('s', 0), input('wrong'))).toEqual({ result: { outcome: 'invalid' }, write: null });
    expect(decideRotation(null, input('s0'))).toEqual({ result: { outcome: 'invalid' }, write: null });
    expect(decideRotation(record('other', 0), input('s0'))).toEqual({ result: { outcome: 'invalid' }, write: null });
  });
});
