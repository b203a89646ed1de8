/** Session records as the engine makes them, for benchmarks that call a store directly. */
import { randomBytes } from 'node:crypto';
import { hashSecret, newSecret, newSessionId, type RotateInput, type SessionRecord } from '@tessera/core';

const HOUR = 3_600_000;
/** The engine's default revocation retention: access TTL (10 min) + leeway (30 s) + 1 min. */
export const RETENTION = 11.5 * 60_000;
export const IDLE_TIMEOUT = 7 * 24 * HOUR;

/** A fresh record with what a browser login carries (device, IP, user agent). */
export function sessionRecord(userId: string, now = Date.now()): SessionRecord {
  return {
    sid: newSessionId(userId),
    userId,
    device: { name: 'Chrome on macOS', kind: 'desktop' },
    ip: '203.0.113.42',
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + IDLE_TIMEOUT,
    absoluteExpiresAt: now + 30 * 24 * HOUR,
    refresh: { hash: hashSecret(newSecret()), previousHash: null, olderHashes: [], rotatedAt: now, generation: 0, successor: null },
    revokedAt: null,
    revokeReason: null,
    claims: null,
  };
}

/** A successor as the engine seals one: `kid.iv.ciphertext+tag`, base64url. */
export const sealedSuccessor = (): string =>
  `${randomBytes(32).toString('base64url')}.${randomBytes(12).toString('base64url')}.${randomBytes(59).toString('base64url')}`;

/** The store call a refresh of `record`'s current secret makes, with the engine's default policy. */
export function rotateInput(record: Pick<SessionRecord, 'sid' | 'refresh'>, now = Date.now()): RotateInput {
  return {
    sid: record.sid,
    presentedHash: record.refresh.hash,
    now,
    next: { hash: hashSecret(newSecret()), successor: sealedSuccessor() },
    idleTimeout: IDLE_TIMEOUT,
    refreshGrace: 10_000,
    refreshHistory: 8,
    retention: RETENTION,
  };
}
