import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** base64url without padding (RFC 4648 §5). */
export function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

const SHARD_LENGTH = 4;
/** 16 random bytes = 128 bits (OWASP ASVS 3.2.2: session tokens have at least 64 bits of entropy). */
const SID_RANDOM_BYTES = 16;
const SECRET_BYTES = 32;

export const SID_PATTERN = /^[A-Za-z0-9_-]{26}$/;
export const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * A short, stable routing tag for a user: the first 24 bits of SHA-256(userId), base64url.
 * Every session id of the user starts with it, so a store can find the user's partition (a Redis
 * Cluster hash tag, say) from a session id alone. It says nothing about the user but "these
 * sessions probably share an owner", which an access token says anyway (`sub` next to `sid`).
 */
export function userShard(userId: string): string {
  return createHash('sha256').update(userId, 'utf8').digest('base64url').slice(0, SHARD_LENGTH);
}

/** The shard a session id routes to (its first four characters). */
export function shardOfSid(sid: string): string {
  return sid.slice(0, SHARD_LENGTH);
}

/** A new session id: the user's shard, then 128 bits from the CSPRNG. Never caller-supplied. */
export function newSessionId(userId: string): string {
  return userShard(userId) + base64url(randomBytes(SID_RANDOM_BYTES));
}

/** A new refresh secret: 256 bits from the CSPRNG (RFC 9700 §4.14: refresh tokens are unguessable). */
export function newSecret(): string {
  return base64url(randomBytes(SECRET_BYTES));
}

/** What the store keeps instead of a secret: base64url(SHA-256(secret)). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** Constant-time equality of two hashes (OWASP ASVS 2.9 / 3.x: no early-exit comparison of secrets). */
export function hashesEqual(a: string | null | undefined, b: string | null | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function newJti(): string {
  return base64url(randomBytes(12));
}
