/**
 * The Redis and Redis Cluster store: translates the store contract (core's store.ts) into one Lua
 * script or one command per method. The decisions live in the scripts (scripts.ts), the key layout
 * in layout.ts, the record format in record.ts, the feed in feed.ts.
 */
import {
  REVOKE_REASONS,
  TesseraError,
  checkDataWrite,
  isDataKey,
  isDataNamespace,
  userShard,
  type CreateSessionInput,
  type CreateSessionResult,
  type DataEntry,
  type RevocationEntry,
  type RevokeReason,
  type RevokeSessionInput,
  type RevokeUserInput,
  type RotateInput,
  type RotateResult,
  type SessionEvent,
  type SessionDataStore,
  type SessionRecord,
  type SessionStore,
  type StoredEvent,
  type StoredKey,
  type UserRecord,
} from '@tessera/core';
import { Connection, type RedisTarget } from './connection.js';
import { HEARTBEAT, RedisRevocationFeed } from './feed.js';
import { BUCKETS, DEFAULT_PREFIX, Layout, isSid } from './layout.js';
import { SEP, checkUserId, decodeRecord, encodeRecord } from './record.js';

export type RedisStoreOptions = RedisTarget & {
  /** Prefix of every key and of the feed channel; several deployments can share one Redis. Default `tessera:`. */
  prefix?: string;
  /** Events kept in the log (approximately: MAXLEN ~). Default 10,000. */
  maxEvents?: number;
  /** Feed heartbeat interval in ms. Default 1000. */
  heartbeatInterval?: number;
  /** Longest wait for any one call before it fails with `store_unavailable`, in ms. Default 2000. */
  commandTimeout?: number;
  /** Longest wait for the first connection, in ms. Default 5000. */
  connectTimeout?: number;
};

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
const MAX_READ = 10_000;

function positive(value: number | undefined, fallback: number, name: string): number {
  const n = value ?? fallback;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) {
    throw new TesseraError('invalid_config', `${name} must be a positive whole number, got ${JSON.stringify(value)}`);
  }
  return n;
}

function checkReason(reason: RevokeReason): RevokeReason {
  if (!REVOKE_REASONS.includes(reason)) throw new TesseraError('internal_error', `unknown revoke reason ${JSON.stringify(reason)}`);
  return reason;
}

/** A flat HGETALL reply as an object. */
function fields(reply: unknown): Record<string, string> | null {
  const flat = reply as string[];
  if (!Array.isArray(flat) || flat.length === 0) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

function userOf(reply: unknown): UserRecord | null {
  const f = fields(reply);
  if (!f) return null;
  return { id: f.id!, username: f.username!, passwordHash: f.passwordHash!, createdAt: Number(f.createdAt), updatedAt: Number(f.updatedAt) };
}

/** Also the session-data ability (core's session-data.ts), in buckets of its own (layout.ts). */
export class RedisStore implements SessionStore, SessionDataStore {
  readonly kind: 'redis' | 'redis-cluster';
  readonly feed: RedisRevocationFeed;
  readonly #redis: Connection;
  readonly #layout: Layout;
  readonly #maxEvents: number;
  #closed = false;

  private constructor(redis: Connection, layout: Layout, options: { maxEvents: number; heartbeatInterval: number; commandTimeout: number }) {
    this.#redis = redis;
    this.#layout = layout;
    this.#maxEvents = options.maxEvents;
    this.kind = redis.kind;
    this.feed = new RedisRevocationFeed({
      channel: layout.channel,
      heartbeatInterval: options.heartbeatInterval,
      commandTimeout: options.commandTimeout,
      nodeUrls: () => redis.subscriberUrls(),
      publishHeartbeat: () => redis.command(undefined, ['PUBLISH', layout.channel, HEARTBEAT]),
    });
  }

  /** Connects to one Redis (`{url}`) or a Redis Cluster (`{cluster: [root node urls]}`). */
  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    const layout = new Layout(options.prefix ?? DEFAULT_PREFIX);
    const settings = {
      maxEvents: positive(options.maxEvents, 10_000, 'maxEvents'),
      heartbeatInterval: positive(options.heartbeatInterval, 1000, 'heartbeatInterval'),
      commandTimeout: positive(options.commandTimeout, 2000, 'commandTimeout'),
    };
    const connectTimeout = positive(options.connectTimeout, 5000, 'connectTimeout');
    let target: RedisTarget;
    if ('cluster' in options) {
      if (!Array.isArray(options.cluster) || options.cluster.length === 0 || options.cluster.some((u) => typeof u !== 'string')) {
        throw new TesseraError('invalid_config', 'cluster must list at least one root node URL');
      }
      target = { cluster: [...options.cluster] };
    } else {
      if (typeof options.url !== 'string' || !options.url) throw new TesseraError('invalid_config', 'url is required');
      target = { url: options.url };
    }
    const redis = await Connection.open(target, { commandTimeout: settings.commandTimeout, connectTimeout });
    return new RedisStore(redis, layout, settings);
  }

  async createSession(input: CreateSessionInput): Promise<CreateSessionResult> {
    this.#open();
    const { session, now } = input;
    if (!isSid(session.sid)) throw new TesseraError('internal_error', 'a session id must be 26 base64url characters');
    checkUserId(session.userId);
    // The layout puts a user's sessions and index under one hash tag, the first character of the shard.
    if (session.sid[0] !== userShard(session.userId)[0]) throw new TesseraError('internal_error', "a session id must start with its user's shard");
    if (!Number.isSafeInteger(input.maxSessions) || input.maxSessions < 0) throw new TesseraError('internal_error', 'maxSessions must be a whole number');
    const record = encodeRecord(session);
    const base = this.#layout.bucketOfSid(session.sid);
    const reply = (await this.#redis.script(
      'tesseraCreateSession',
      [this.#layout.session(session.sid), this.#layout.userIndex(session.userId), this.#layout.revocations(base)],
      [String(now), String(input.retention), String(input.maxSessions), input.onLimit === 'reject' ? 'reject' : 'evict-oldest', record, base, this.#layout.channel],
    )) as [string, string[]?];
    if (reply[0] === 'reject') throw new TesseraError('session_limit_reached', `user already has ${input.maxSessions} live sessions`);
    if (reply[0] === 'duplicate') throw new TesseraError('internal_error', 'duplicate session id');
    return { session: decodeRecord(record), evicted: (reply[1] ?? []).map(decodeRecord) };
  }

  async getSession(sid: string): Promise<SessionRecord | null> {
    this.#open();
    if (!isSid(sid)) return null;
    const key = this.#layout.session(sid);
    const raw = await this.#redis.command(key, ['GET', key]);
    return typeof raw === 'string' ? decodeRecord(raw) : null;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    this.#open();
    if (typeof userId !== 'string') return [];
    const index = this.#layout.userIndex(userId);
    const raws = (await this.#redis.script('tesseraListSessions', [index], [String(now), this.#layout.bucketOfUser(userId)])) as string[];
    return raws
      .map(decodeRecord)
      .sort((a, b) => b.lastSeenAt - a.lastSeenAt || b.createdAt - a.createdAt || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
  }

  async rotateRefresh(input: RotateInput): Promise<RotateResult> {
    this.#open();
    if (!isSid(input.sid) || typeof input.presentedHash !== 'string') return { outcome: 'invalid' };
    // The successor and hash become record fields: the record codec's checks apply.
    if (!/^[A-Za-z0-9_-]+$/.test(input.next.hash) || !/^[A-Za-z0-9_.-]+$/.test(input.next.successor)) {
      throw new TesseraError('internal_error', 'the next refresh hash and successor must be base64url');
    }
    const key = this.#layout.session(input.sid);
    const base = this.#layout.bucketOfSid(input.sid);
    const reply = (await this.#redis.script(
      'tesseraRotateRefresh',
      [key, this.#layout.revocations(base)],
      [
        String(input.now),
        input.presentedHash,
        input.next.hash,
        input.next.successor,
        String(input.idleTimeout),
        String(input.refreshGrace),
        String(input.refreshHistory),
        String(input.retention),
        base,
        this.#layout.channel,
      ],
    )) as [string, string?];
    const [outcome, raw] = reply;
    if (outcome === 'invalid' || raw === undefined) return { outcome: 'invalid' };
    const session = decodeRecord(raw);
    switch (outcome) {
      case 'grace':
        return { outcome, session, successor: session.refresh.successor! };
      case 'rotated':
      case 'reuse':
      case 'revoked':
      case 'expired':
        return { outcome, session };
      default:
        throw new TesseraError('internal_error', `unexpected rotation outcome ${JSON.stringify(outcome)}`);
    }
  }

  async revokeSession(input: RevokeSessionInput): Promise<{ session: SessionRecord; changed: boolean } | null> {
    this.#open();
    if (!isSid(input.sid)) return null;
    const base = this.#layout.bucketOfSid(input.sid);
    const [outcome, raw] = (await this.#redis.script(
      'tesseraRevokeSession',
      [this.#layout.session(input.sid), this.#layout.revocations(base)],
      [String(input.now), checkReason(input.reason), String(input.retention), base, this.#layout.channel],
    )) as [string, string?];
    if (outcome === 'unknown' || raw === undefined) return null;
    return { session: decodeRecord(raw), changed: outcome === 'revoked' };
  }

  async revokeUserSessions(input: RevokeUserInput): Promise<SessionRecord[]> {
    this.#open();
    if (typeof input.userId !== 'string') return [];
    const base = this.#layout.bucketOfUser(input.userId);
    const raws = (await this.#redis.script(
      'tesseraRevokeUser',
      [this.#layout.userIndex(input.userId), this.#layout.revocations(base)],
      [String(input.now), checkReason(input.reason), String(input.retention), base, this.#layout.channel, input.exceptSid ?? ''],
    )) as string[];
    return raws.map(decodeRecord);
  }

  /**
   * Reads the 64 buckets' recent revocations in one pipelined batch. It runs only when a verifier's
   * feed (re)connects, so the fan-out buys atomic revocation writes at no cost on the hot path.
   */
  async revocationsSince(since: number, limit = 10_000): Promise<RevocationEntry[]> {
    this.#open();
    const count = Math.max(0, Math.min(Math.floor(limit), 1_000_000));
    if (!(count > 0)) return [];
    const min = Number.isFinite(since) ? String(since) : '-inf';
    const calls = BUCKETS.map((c) => {
      const key = this.#layout.revocations(this.#layout.bucket(c));
      return { key, args: ['ZRANGEBYSCORE', key, min, '+inf', 'WITHSCORES', 'LIMIT', '0', String(count)] };
    });
    const replies = (await this.#redis.commands(calls)) as string[][];
    const entries: RevocationEntry[] = [];
    for (const flat of replies) {
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const [sid, reason, userId] = flat[i]!.split(SEP);
        entries.push({ sid: sid!, userId: userId!, reason: reason as RevokeReason, at: Number(flat[i + 1]) });
      }
    }
    return entries.sort((a, b) => a.at - b.at || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0)).slice(0, count);
  }

  async appendEvents(events: readonly SessionEvent[]): Promise<void> {
    this.#open();
    if (events.length === 0) return;
    await this.#redis.script('tesseraAppendEvents', [this.#layout.events], [String(this.#maxEvents), ...events.map((e) => JSON.stringify(e))]);
  }

  async readEvents(options: { after?: string | null; limit?: number } = {}): Promise<StoredEvent[]> {
    this.#open();
    const limit = Math.min(Math.floor(options.limit ?? 100), MAX_READ);
    if (!(limit > 0)) return [];
    let start = '-';
    if (options.after) {
      // Stream ids are the cursors; anything else names no position (an answer, not an error).
      if (typeof options.after !== 'string' || !STREAM_ID.test(options.after)) return [];
      start = `(${options.after}`;
    }
    const key = this.#layout.events;
    const reply = (await this.#redis.command(key, ['XRANGE', key, start, '+', 'COUNT', String(limit)])) as [string, string[]][];
    const events: StoredEvent[] = [];
    for (const [id, values] of reply) {
      // Our entries have one field, `e`, the event as JSON; anything else in the stream is not ours.
      if (values.length !== 2 || values[0] !== 'e') continue;
      try {
        events.push({ ...(JSON.parse(values[1]!) as SessionEvent), id });
      } catch {
        continue;
      }
    }
    return events;
  }

  async listKeys(): Promise<StoredKey[]> {
    this.#open();
    const key = this.#layout.keys;
    const values = (await this.#redis.command(key, ['HVALS', key])) as string[];
    return values.map((v) => JSON.parse(v) as StoredKey);
  }

  async putKey(stored: StoredKey): Promise<void> {
    this.#open();
    const key = this.#layout.keys;
    await this.#redis.command(key, ['HSET', key, stored.kid, JSON.stringify(stored)]);
  }

  async deleteKey(kid: string): Promise<void> {
    this.#open();
    const key = this.#layout.keys;
    await this.#redis.command(key, ['HDEL', key, kid]);
  }

  async createUser(user: UserRecord): Promise<void> {
    this.#open();
    const created = await this.#redis.script(
      'tesseraCreateUser',
      [this.#layout.userNames, this.#layout.user(user.id)],
      [user.id, user.username, user.passwordHash, String(user.createdAt), String(user.updatedAt)],
    );
    if (created !== 1) throw new TesseraError('conflict', 'a user with that username or id exists');
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    this.#open();
    return userOf(await this.#redis.script('tesseraUserByName', [this.#layout.userNames], [this.#layout.userPrefix, username]));
  }

  async getUser(id: string): Promise<UserRecord | null> {
    this.#open();
    const key = this.#layout.user(id);
    return userOf(await this.#redis.command(key, ['HGETALL', key]));
  }

  async setPasswordHash(id: string, passwordHash: string, now: number): Promise<boolean> {
    this.#open();
    return (await this.#redis.script('tesseraSetPassword', [this.#layout.user(id)], [passwordHash, String(now)])) === 1;
  }

  async deleteUser(id: string): Promise<boolean> {
    this.#open();
    return (await this.#redis.script('tesseraDeleteUser', [this.#layout.userNames, this.#layout.user(id)], [])) === 1;
  }

  async listUsers(): Promise<UserRecord[]> {
    this.#open();
    const replies = (await this.#redis.script('tesseraListUsers', [this.#layout.userNames], [this.#layout.userPrefix])) as unknown[];
    return replies
      .map(userOf)
      .filter((u): u is UserRecord => u !== null)
      .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  }

  async hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    this.#open();
    const [count, resetAt] = (await this.#redis.script('tesseraHit', [this.#layout.hit(key)], [String(now), String(windowMs)])) as [string, string];
    return { count: Number(count), resetAt: Number(resetAt) };
  }

  async ping(): Promise<void> {
    this.#open();
    await this.#redis.ping();
  }

  /** Every key carries its own TTL (see layout.ts): there is nothing to sweep. */
  async sweep(_now: number): Promise<number> {
    this.#open();
    return 0;
  }

  async getData(namespace: string, key: string, now: number): Promise<DataEntry | null> {
    this.#open();
    if (!isDataNamespace(namespace) || !isDataKey(key)) return null;
    const entry = this.#layout.dataEntryPrefix(this.#layout.dataBucket(namespace, key), namespace) + key;
    const [value, expiresAt] = (await this.#redis.command(entry, ['HMGET', entry, 'v', 'e'])) as [string | null, string | null];
    if (value === null || expiresAt === null || !(now < Number(expiresAt))) return null;
    return { key, value, expiresAt: Number(expiresAt) };
  }

  async setData(namespace: string, key: string, value: string, expiresAt: number, now: number): Promise<void> {
    this.#open();
    checkDataWrite(namespace, key, value, expiresAt, now);
    const base = this.#layout.dataBucket(namespace, key);
    await this.#redis.script(
      'tesseraDataSet',
      [this.#layout.dataEntryPrefix(base, namespace) + key, this.#layout.dataIndex(base, namespace)],
      [value, String(expiresAt), String(now), key],
    );
  }

  async touchData(namespace: string, key: string, expiresAt: number, now: number): Promise<boolean> {
    this.#open();
    checkDataWrite(namespace, key, undefined, expiresAt, now);
    const base = this.#layout.dataBucket(namespace, key);
    const touched = await this.#redis.script(
      'tesseraDataTouch',
      [this.#layout.dataEntryPrefix(base, namespace) + key, this.#layout.dataIndex(base, namespace)],
      [String(expiresAt), String(now), key],
    );
    return touched === 1;
  }

  async deleteData(namespace: string, key: string): Promise<void> {
    this.#open();
    if (!isDataNamespace(namespace) || !isDataKey(key)) return;
    const base = this.#layout.dataBucket(namespace, key);
    await this.#redis.script('tesseraDataDelete', [this.#layout.dataEntryPrefix(base, namespace) + key, this.#layout.dataIndex(base, namespace)], [key]);
  }

  /** 64 single-slot scripts, one per data bucket, sent together (pipelined per node). */
  async listData(namespace: string, now: number): Promise<DataEntry[]> {
    this.#open();
    if (!isDataNamespace(namespace)) return [];
    const replies = (await this.#perDataBucket((base) =>
      this.#redis.script('tesseraDataList', [this.#layout.dataIndex(base, namespace)], [String(now), this.#layout.dataEntryPrefix(base, namespace)]),
    )) as string[][];
    const entries: DataEntry[] = [];
    for (const flat of replies) for (let i = 0; i + 2 < flat.length; i += 3) entries.push({ key: flat[i]!, value: flat[i + 1]!, expiresAt: Number(flat[i + 2]) });
    return entries;
  }

  async countData(namespace: string, now: number): Promise<number> {
    this.#open();
    if (!isDataNamespace(namespace)) return 0;
    const min = `(${now}`;
    const counts = await this.#redis.commands(
      this.#layout.dataBuckets().map((base) => {
        const index = this.#layout.dataIndex(base, namespace);
        return { key: index, args: ['ZCOUNT', index, min, '+inf'] };
      }),
    );
    return counts.reduce<number>((sum, n) => sum + Number(n), 0);
  }

  async clearData(namespace: string): Promise<void> {
    this.#open();
    if (!isDataNamespace(namespace)) return;
    await this.#perDataBucket((base) =>
      this.#redis.script('tesseraDataClear', [this.#layout.dataIndex(base, namespace)], [this.#layout.dataEntryPrefix(base, namespace)]),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.feed.close();
    await this.#redis.close();
  }

  #open(): void {
    if (this.#closed) throw new TesseraError('store_unavailable', 'the Redis store is closed');
  }

  #perDataBucket(call: (base: string) => Promise<unknown>): Promise<unknown[]> {
    return Promise.all(this.#layout.dataBuckets().map(call));
  }
}
