/**
 * Records as rows and back. Sessions are written with one parameter per column, in the order of
 * `SESSION_COLUMNS`; events (appended in batches) as JSON fed to `json_to_recordset`.
 */
import type { DeviceKind, RevocationEntry, RevokeReason, SessionEvent, SessionRecord, StoredEvent, StoredKey, UserRecord } from '@tessera/core';
import { scrub } from './sql.js';

/** The columns of `sessions`, the key first. */
export const SESSION_COLUMNS = [
  'sid',
  'user_id',
  'device_name',
  'device_kind',
  'ip',
  'user_agent',
  'created_at',
  'last_seen_at',
  'idle_expires_at',
  'absolute_expires_at',
  'refresh_hash',
  'refresh_previous_hash',
  'refresh_older_hashes',
  'refresh_rotated_at',
  'refresh_generation',
  'refresh_successor',
  'revoked_at',
  'revoke_reason',
  'claims',
  'purge_at',
] as const;

export interface SessionRow {
  sid: string;
  user_id: string;
  device_name: string;
  device_kind: string;
  ip: string | null;
  user_agent: string | null;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  refresh_hash: string;
  refresh_previous_hash: string | null;
  refresh_older_hashes: string[];
  refresh_rotated_at: number;
  refresh_generation: number;
  refresh_successor: string | null;
  revoked_at: number | null;
  revoke_reason: string | null;
  /** JSON text. */
  claims: string | null;
  purge_at: number;
}

/** The parameters of a session row, in `SESSION_COLUMNS` order. */
export function sessionValues(s: SessionRecord, purgeAt: number): unknown[] {
  const text = (value: string | null) => (value === null ? null : scrub(value));
  return [
    text(s.sid),
    text(s.userId),
    text(s.device.name),
    text(s.device.kind),
    text(s.ip),
    text(s.userAgent),
    s.createdAt,
    s.lastSeenAt,
    s.idleExpiresAt,
    s.absoluteExpiresAt,
    text(s.refresh.hash),
    text(s.refresh.previousHash),
    s.refresh.olderHashes.map((h) => scrub(h)),
    s.refresh.rotatedAt,
    s.refresh.generation,
    text(s.refresh.successor),
    s.revokedAt,
    s.revokeReason,
    s.claims === null ? null : JSON.stringify(s.claims),
    purgeAt,
  ];
}

export function sessionRecord(r: SessionRow): SessionRecord {
  return {
    sid: r.sid,
    userId: r.user_id,
    device: { name: r.device_name, kind: r.device_kind as DeviceKind },
    ip: r.ip,
    userAgent: r.user_agent,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    idleExpiresAt: r.idle_expires_at,
    absoluteExpiresAt: r.absolute_expires_at,
    refresh: {
      hash: r.refresh_hash,
      previousHash: r.refresh_previous_hash,
      olderHashes: r.refresh_older_hashes,
      rotatedAt: r.refresh_rotated_at,
      generation: r.refresh_generation,
      successor: r.refresh_successor,
    },
    revokedAt: r.revoked_at,
    revokeReason: r.revoke_reason as RevokeReason | null,
    claims: r.claims === null ? null : (JSON.parse(r.claims) as Record<string, unknown>),
  };
}

export interface RevocationRow {
  sid: string;
  user_id: string;
  reason: string;
  at: number;
}

export function revocationEntry(r: RevocationRow): RevocationEntry {
  return { sid: r.sid, userId: r.user_id, reason: r.reason as RevokeReason, at: r.at };
}

export interface EventRow {
  id: string;
  type: string;
  sid: string | null;
  user_id: string | null;
  at: number;
  detail: Record<string, unknown>;
}

/** The columns an operator queries (type, sid, user, time), and the rest of the event as JSON. */
export function eventRow(event: SessionEvent): Omit<EventRow, 'id'> {
  const { type, sid, userId, at, ...rest } = event;
  const detail: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(rest)) {
    if (value !== undefined) detail[name] = typeof value === 'string' ? scrub(value) : value;
  }
  return { type: scrub(type), sid: sid === null ? null : scrub(sid), user_id: userId === null ? null : scrub(userId), at, detail };
}

export function storedEvent(r: EventRow): StoredEvent {
  return { ...(r.detail as Partial<SessionEvent>), type: r.type as SessionEvent['type'], sid: r.sid, userId: r.user_id, at: r.at, id: r.id };
}

export interface KeyRow {
  kid: string;
  public_jwk: StoredKey['publicJwk'];
  private_jwk: StoredKey['privateJwk'];
  created_at: number;
  activates_at: number;
  retires_at: number | null;
  expires_at: number | null;
}

export function storedKey(r: KeyRow): StoredKey {
  return {
    kid: r.kid,
    publicJwk: r.public_jwk,
    privateJwk: r.private_jwk,
    createdAt: r.created_at,
    activatesAt: r.activates_at,
    retiresAt: r.retires_at,
    expiresAt: r.expires_at,
  };
}

export interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  created_at: number;
  updated_at: number;
}

export function userRecord(r: UserRow): UserRecord {
  return { id: r.id, username: r.username, passwordHash: r.password_hash, createdAt: r.created_at, updatedAt: r.updated_at };
}
