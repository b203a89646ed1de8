/**
 * Where everything lives in Redis. All keys of one user share the hash tag of their *bucket*, the
 * first character of the user's shard (`userShard(userId)`, which every sid of the user starts
 * with): 64 buckets, so that a session, its user's index and the bucket's recent revocations sit in
 * one Redis Cluster slot and one Lua script can change them together (the Cluster refuses
 * cross-slot scripts). Everything else (users, keys, counters, events) is a separate key in any slot.
 *
 *   {prefix}{b:X}:s:<sid>       session record (string, see record.ts), PX until purgeAt
 *   {prefix}{b:X}:u:<userId>    the user's live sessions, sorted set by lastSeenAt
 *   {prefix}{b:X}:r             the bucket's recent revocations, sorted set by revokedAt
 *   {prefix}{users}:u:<id>      a user (hash); {prefix}{users}:names username → id (hash)
 *   {prefix}keys                signing keys (hash kid → JSON)
 *   {prefix}hit:<key>           a throttling counter
 *   {prefix}events              the event log (stream)
 *   {prefix}feed                the pub/sub channel of revocations and heartbeats
 */
import { TesseraError, SID_PATTERN, userShard } from '@tessera/core';

export const DEFAULT_PREFIX = 'tessera:';

/** base64url, the alphabet of shards: one bucket per character. */
export const BUCKETS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];

export function checkPrefix(prefix: string): string {
  // A brace in the prefix would become the hash tag of every key and put them all in one slot.
  if (typeof prefix !== 'string' || prefix.length > 100 || /[{}\s]/.test(prefix)) {
    throw new TesseraError('invalid_config', 'the Redis key prefix must be at most 100 characters without braces or spaces');
  }
  return prefix;
}

export class Layout {
  readonly prefix: string;
  readonly channel: string;
  readonly keys: string;
  readonly events: string;
  readonly userNames: string;
  readonly userPrefix: string;

  constructor(prefix: string) {
    this.prefix = checkPrefix(prefix);
    this.channel = `${prefix}feed`;
    this.keys = `${prefix}keys`;
    this.events = `${prefix}events`;
    this.userNames = `${prefix}{users}:names`;
    this.userPrefix = `${prefix}{users}:u:`;
  }

  /** `{prefix}{b:X}:`, the start of every key of bucket X. */
  bucket(char: string): string {
    return `${this.prefix}{b:${char}}:`;
  }

  bucketOfSid(sid: string): string {
    return this.bucket(sid[0]!);
  }

  bucketOfUser(userId: string): string {
    return this.bucket(userShard(userId)[0]!);
  }

  session(sid: string): string {
    return `${this.bucketOfSid(sid)}s:${sid}`;
  }

  userIndex(userId: string): string {
    return `${this.bucketOfUser(userId)}u:${userId}`;
  }

  revocations(base: string): string {
    return `${base}r`;
  }

  user(id: string): string {
    return `${this.userPrefix}${id}`;
  }

  hit(key: string): string {
    return `${this.prefix}hit:${key}`;
  }
}

/** Only well-formed sids reach Redis: anything else is unknown without a round trip. */
export function isSid(sid: unknown): sid is string {
  return typeof sid === 'string' && SID_PATTERN.test(sid);
}
