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
 *
 * Session data (core's session-data.ts) has 64 buckets of its own, `{d:X}`, X picked by a hash of
 * namespace and key, so that the per-request calls (get, set, touch, delete) of one namespace spread
 * over every master of a cluster instead of loading the one that a per-namespace tag would pick. Each
 * (bucket, namespace) has an index, so listing, counting and clearing a namespace are 64 single-slot
 * calls, pipelined, and never a scan of the keyspace nor a cross-slot command:
 *
 *   {prefix}{d:X}:v:<n>:<namespace>:<key>   an entry (hash: v = value, e = expiresAt), PX until expiresAt
 *   {prefix}{d:X}:i:<n>:<namespace>         the namespace's keys in bucket X, sorted set by expiresAt
 *
 * where <n> is the namespace's length: it makes the boundary between namespace and key exact, so
 * namespace `app` with key `:x` and namespace `app:` with key `x` are different keys.
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

  /** The data bucket of an entry: the first character of a SHA-256 of namespace and key. */
  dataBucket(namespace: string, key: string): string {
    return `${this.prefix}{d:${userShard(`${namespace.length}:${namespace}:${key}`)[0]!}}:`;
  }

  /** Every data bucket's hash-tag prefix (64). */
  dataBuckets(): string[] {
    return BUCKETS.map((c) => `${this.prefix}{d:${c}}:`);
  }

  /** The start of every entry key of `namespace` in the bucket `base`. */
  dataEntryPrefix(base: string, namespace: string): string {
    return `${base}v:${namespace.length}:${namespace}:`;
  }

  dataIndex(base: string, namespace: string): string {
    return `${base}i:${namespace.length}:${namespace}`;
  }
}

/** Only well-formed sids reach Redis: anything else is unknown without a round trip. */
export function isSid(sid: unknown): sid is string {
  return typeof sid === 'string' && SID_PATTERN.test(sid);
}
