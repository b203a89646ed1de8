export type DeviceKind = 'desktop' | 'mobile' | 'tablet' | 'tv' | 'bot' | 'other';
export const DEVICE_KINDS: readonly DeviceKind[] = ['desktop', 'mobile', 'tablet', 'tv', 'bot', 'other'];

export interface Device {
  name: string;
  kind: DeviceKind;
}

export type RevokeReason = 'logout' | 'evicted' | 'revoked' | 'admin' | 'reuse_detected' | 'password_changed' | 'expired';
export const REVOKE_REASONS: readonly RevokeReason[] = ['logout', 'evicted', 'revoked', 'admin', 'reuse_detected', 'password_changed', 'expired'];

/** Rotation state of a session's refresh token. Only hashes of secrets are ever stored. */
export interface RefreshState {
  /** SHA-256 of the current secret. */
  hash: string;
  /** SHA-256 of the secret the last rotation superseded; `null` before the first rotation. */
  previousHash: string | null;
  /** Older superseded hashes, newest first, at most `policy.refreshHistory - 1` of them. */
  olderHashes: string[];
  /** When the last rotation happened (ms); `createdAt` before the first. */
  rotatedAt: number;
  /** 0 at creation, +1 per rotation. */
  generation: number;
  /**
   * The current secret, encrypted by the engine under a server key, so that the previous secret
   * presented within the grace window returns the same successor. `null` before the first rotation.
   */
  successor: string | null;
}

/** The server-side record of one signed-in device. */
export interface SessionRecord {
  sid: string;
  userId: string;
  device: Device;
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  refresh: RefreshState;
  revokedAt: number | null;
  revokeReason: RevokeReason | null;
  /** Application claims copied into every access token of the session. */
  claims: Record<string, unknown> | null;
}

/** Not revoked, and neither idle- nor absolutely expired at `now` (server clock, no leeway). */
export function isLive(session: SessionRecord, now: number): boolean {
  return session.revokedAt === null && now < session.idleExpiresAt && now < session.absoluteExpiresAt;
}

/** When a store may forget the record: `retention` after it stopped being live. */
export function purgeAt(session: SessionRecord, retention: number): number {
  const end = session.revokedAt ?? Math.min(session.idleExpiresAt, session.absoluteExpiresAt);
  return end + retention;
}

/** A revocation, as kept in the store's recent-revocations list and carried by the feed. */
export interface RevocationEntry {
  sid: string;
  userId: string;
  reason: RevokeReason;
  at: number;
}

export function revocationOf(session: SessionRecord): RevocationEntry {
  return { sid: session.sid, userId: session.userId, reason: session.revokeReason ?? 'revoked', at: session.revokedAt ?? 0 };
}

/** The session as the HTTP API shows it. */
export interface SessionView {
  id: string;
  device: Device;
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  current: boolean;
}

export function sessionView(session: SessionRecord, currentSid?: string): SessionView {
  return {
    id: session.sid,
    device: { ...session.device },
    ip: session.ip,
    userAgent: session.userAgent,
    createdAt: session.createdAt,
    lastSeenAt: session.lastSeenAt,
    idleExpiresAt: session.idleExpiresAt,
    absoluteExpiresAt: session.absoluteExpiresAt,
    current: session.sid === currentSid,
  };
}
