/**
 * The engine's decisions as pure functions of data and time. The memory, SQLite and PostgreSQL
 * stores call them inside their transaction; the Redis store mirrors them in Lua. The conformance
 * suite holds every store to the same outcomes.
 */
import type { OnLimit } from './policy.js';
import { hashesEqual } from './ids.js';
import { isLive, type RevokeReason, type SessionRecord } from './session.js';

/** Least recently seen first; ties broken by creation time, then sid, so every store agrees. */
export function byLeastRecentlySeen(a: SessionRecord, b: SessionRecord): number {
  return a.lastSeenAt - b.lastSeenAt || a.createdAt - b.createdAt || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0);
}

/**
 * Admits a new session for a user who has `existing` sessions: returns the sessions to evict
 * (possibly none), or `'reject'` when the limit is reached and `onLimit` is `reject`.
 * `maxSessions` 0 means no limit.
 */
export function planAdmission(
  existing: readonly SessionRecord[],
  now: number,
  maxSessions: number,
  onLimit: OnLimit,
): SessionRecord[] | 'reject' {
  if (maxSessions <= 0) return [];
  const live = existing.filter((s) => isLive(s, now));
  if (live.length < maxSessions) return [];
  if (onLimit === 'reject') return 'reject';
  return live.sort(byLeastRecentlySeen).slice(0, live.length - maxSessions + 1);
}

/** The record after revocation. Revoking a revoked record returns it unchanged (idempotent). */
export function revokedRecord(session: SessionRecord, reason: RevokeReason, now: number): SessionRecord {
  if (session.revokedAt !== null) return session;
  return { ...session, revokedAt: now, revokeReason: reason };
}

export interface RotateInput {
  sid: string;
  /** SHA-256 of the secret the client presented. */
  presentedHash: string;
  now: number;
  /** The successor the engine prepared, used only if this call rotates. */
  next: { hash: string; successor: string };
  idleTimeout: number;
  refreshGrace: number;
  /** How many superseded hashes to remember (previous included). */
  refreshHistory: number;
  /** How long a revoked record and its revocation entry are kept. */
  retention: number;
}

export type RotateResult =
  /** The current secret was presented: the session now has `next` as its current secret. */
  | { outcome: 'rotated'; session: SessionRecord }
  /** The previous secret, within the grace window: the successor the first rotation issued. */
  | { outcome: 'grace'; session: SessionRecord; successor: string }
  /** A superseded secret outside the grace window: the session is now revoked (`reuse_detected`). */
  | { outcome: 'reuse'; session: SessionRecord }
  /** The session was already revoked; nothing changed. */
  | { outcome: 'revoked'; session: SessionRecord }
  /** The session is idle- or absolutely expired; nothing changed. */
  | { outcome: 'expired'; session: SessionRecord }
  /** No such session, or a secret it never issued; nothing changed. */
  | { outcome: 'invalid' };

/** Decides a refresh. `write` is the record to store (when it changed). */
export function decideRotation(
  session: SessionRecord | null,
  input: RotateInput,
): { result: RotateResult; write: SessionRecord | null } {
  if (!session || session.sid !== input.sid) return { result: { outcome: 'invalid' }, write: null };
  const r = session.refresh;
  const isCurrent = hashesEqual(r.hash, input.presentedHash);
  const isPrevious = !isCurrent && hashesEqual(r.previousHash, input.presentedHash);
  const isOlder = !isCurrent && !isPrevious && r.olderHashes.some((h) => hashesEqual(h, input.presentedHash));
  if (!isCurrent && !isPrevious && !isOlder) return { result: { outcome: 'invalid' }, write: null };
  if (session.revokedAt !== null) return { result: { outcome: 'revoked', session }, write: null };
  if (!isLive(session, input.now)) return { result: { outcome: 'expired', session }, write: null };

  if (isCurrent) {
    const superseded = [r.hash, ...(r.previousHash === null ? [] : [r.previousHash]), ...r.olderHashes];
    const rotated: SessionRecord = {
      ...session,
      lastSeenAt: input.now,
      idleExpiresAt: Math.min(input.now + input.idleTimeout, session.absoluteExpiresAt),
      refresh: {
        hash: input.next.hash,
        previousHash: superseded[0]!,
        olderHashes: superseded.slice(1, Math.max(1, input.refreshHistory)),
        rotatedAt: input.now,
        generation: r.generation + 1,
        successor: input.next.successor,
      },
    };
    return { result: { outcome: 'rotated', session: rotated }, write: rotated };
  }
  if (isPrevious && r.successor !== null && input.now - r.rotatedAt <= input.refreshGrace) {
    return { result: { outcome: 'grace', session, successor: r.successor }, write: null };
  }
  const revoked = revokedRecord(session, 'reuse_detected', input.now);
  return { result: { outcome: 'reuse', session: revoked }, write: revoked };
}
