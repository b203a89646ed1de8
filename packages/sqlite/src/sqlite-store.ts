import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  TesseraError,
  checkDataWrite,
  decideRotation,
  isDataKey,
  isDataNamespace,
  isLive,
  planAdmission,
  purgeAt,
  revocationOf,
  revokedRecord,
  storeUnavailable,
  systemClock,
  type Clock,
  type CreateSessionInput,
  type CreateSessionResult,
  type DataEntry,
  type RevocationEntry,
  type RevocationFeed,
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
import Database from 'better-sqlite3';
import { PolledRevocationFeed } from './feed.js';
import { migrate } from './schema.js';

export interface SqliteStoreOptions {
  /** The database file. Missing parent directories are created. */
  path: string;
  /** Events kept in the log; older ones are deleted as new ones are appended. Default 10,000. */
  maxEvents?: number;
  /** Feed heartbeat interval in ms. Default 1000. */
  heartbeatInterval?: number;
  /** How often the revocations table is polled for other processes' revocations, in ms. Default 20: a poll is one indexed read, and the design wants revocations on other nodes within 50 ms at p99. */
  pollInterval?: number;
  /** How often rows past retention are deleted, in ms. Default 60,000. */
  sweepInterval?: number;
  /** `normal` (default) survives a crash of the process; `full` survives power loss too. See below. */
  synchronous?: 'normal' | 'full';
  /** How long a write waits for another process's write lock before failing, in ms. Default 5000. */
  busyTimeout?: number;
  /** The clock of the sweep timer (`sweep(now)` takes its time from the caller). Default: the system clock. */
  clock?: Clock;
}

/*
 * Durability. A method's promise resolves after its transaction committed: that is what
 * "acknowledged" means. In WAL mode a commit has written the transaction to the -wal file with
 * write(2) before it returns, so an acknowledged write survives the death of this process (SIGKILL,
 * a crash, the OOM killer): it is in the kernel's page cache, and the next opener recovers it from
 * the WAL. `synchronous` decides what survives the death of the machine (power loss, kernel panic):
 *
 * - NORMAL fsyncs the WAL only when it checkpoints. A power cut may lose the last writes acknowledged
 *   before it, but never corrupts the file (WAL frames are checksummed; a torn tail is discarded).
 * - FULL fsyncs the WAL at every commit: an acknowledged write survives power loss too, at the cost of
 *   one fsync per write, which bounds write throughput by the disk's flush latency.
 *
 * NORMAL is the default: a session lost to a power cut costs its user one sign-in, while every login,
 * refresh and logout is a write. Choose FULL where an acknowledged logout or revocation must survive a
 * power cut (with NORMAL, a revoked session could come back as it was before the cut).
 */

const SWEEP_BATCH = 500;
const POLL_BATCH = 1000;

interface RevocationRow {
  id: number;
  sid: string;
  user_id: string;
  reason: RevokeReason;
  at: number;
}

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  created_at: number;
  updated_at: number;
}

interface SessionColumns {
  sid: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  revoked_at: number | null;
  purge_at: number;
  record: string;
}

type Statements = ReturnType<typeof prepare>;

/** A revocation committed by this handle: its row id (so the poll skips it) and the entry. */
interface Committed {
  id: number;
  entry: RevocationEntry;
}

/**
 * The embedded durable store: one SQLite file in WAL mode, shareable by several processes. Every
 * method that writes is one BEGIN IMMEDIATE transaction: it takes the file's write lock before it
 * reads, so concurrent writers in any number of processes serialize instead of deciding on stale
 * reads (and cannot deadlock upgrading a read lock). Methods that only read are a single SELECT, which
 * is its own consistent snapshot in WAL mode and never waits for writers.
 *
 * better-sqlite3 is synchronous: a transaction runs to its commit without yielding, so the handles of
 * one process never contend; a handle waiting for another process's lock blocks its event loop for up
 * to `busyTimeout`, then fails with `store_unavailable`.
 *
 * It has the session-data ability too (core's session-data.ts): the `data` table, one row per entry,
 * swept with the rest.
 */
export class SqliteStore implements SessionStore, SessionDataStore {
  readonly kind = 'sqlite';
  readonly feed: RevocationFeed;
  readonly #feed: PolledRevocationFeed;
  /** The database file this store is on (another `SqliteStore` may open it too). */
  readonly path: string;
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #maxEvents: number;
  readonly #clock: Clock;
  /** Runs a function as one transaction; `.immediate()` for BEGIN IMMEDIATE. Created once. */
  readonly #transaction: Database.Transaction<(fn: () => unknown) => unknown>;
  /** The newest revocation row the feed has seen. */
  #cursor: number;
  /** Rows this handle committed and already published, not yet passed by the poll. */
  readonly #published = new Set<number>();
  readonly #pollTimer: NodeJS.Timeout;
  readonly #sweepTimer: NodeJS.Timeout;
  #sweeping = false;
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    if (typeof options?.path !== 'string' || options.path === '') {
      throw new TesseraError('invalid_config', 'SqliteStore needs a path');
    }
    this.path = options.path;
    this.#maxEvents = Math.ceil(positive('maxEvents', options.maxEvents, 10_000));
    const heartbeatInterval = positive('heartbeatInterval', options.heartbeatInterval, 1000);
    const pollInterval = positive('pollInterval', options.pollInterval, 20);
    const sweepInterval = positive('sweepInterval', options.sweepInterval, 60_000);
    const busyTimeout = positive('busyTimeout', options.busyTimeout, 5000);
    const synchronous = options.synchronous ?? 'normal';
    if (synchronous !== 'normal' && synchronous !== 'full') {
      throw new TesseraError('invalid_config', `synchronous must be 'normal' or 'full', not ${String(synchronous)}`);
    }
    this.#clock = options.clock ?? systemClock;

    let db: Database.Database;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      db = new Database(this.path, { timeout: busyTimeout });
    } catch (error) {
      throw storeUnavailable(error, `the SQLite store at ${this.path}`);
    }
    try {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal' && !db.memory) {
        // Still correct (rollback journal, readers wait for writers), but not what the docs promise.
        process.emitWarning(`${this.path}: SQLite refused WAL mode (journal_mode is ${String(mode)})`, 'TesseraWarning');
      }
      db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      migrate(db);
      this.#sql = prepare(db);
      this.#transaction = db.transaction((fn: () => unknown) => fn());
      this.#cursor = this.#sql.lastRevocationId.get() ?? 0;
    } catch (error) {
      db.close();
      throw storeUnavailable(error, `the SQLite store at ${this.path}`);
    }
    this.#db = db;
    this.feed = this.#feed = new PolledRevocationFeed(heartbeatInterval);
    this.#pollTimer = setInterval(() => this.#poll(), pollInterval);
    this.#pollTimer.unref();
    this.#sweepTimer = setInterval(() => void this.#sweepOnTimer(), sweepInterval);
    this.#sweepTimer.unref();
  }

  async createSession(input: CreateSessionInput): Promise<CreateSessionResult> {
    const { session, now, retention } = input;
    const evicted = this.#write((committed) => {
      const plan = planAdmission(this.#retained(session.userId, now), now, input.maxSessions, input.onLimit);
      if (plan === 'reject') {
        throw new TesseraError('session_limit_reached', `user already has ${input.maxSessions} live sessions`);
      }
      const evicted = plan.map((s) => this.#revoke(s, 'evicted', now, retention, committed));
      try {
        this.#sql.insertSession.run(columns(session, retention));
      } catch (error) {
        if (isSqliteError(error, 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw new TesseraError('internal_error', 'duplicate session id');
        throw error;
      }
      return evicted;
    });
    return { session: structuredClone(session), evicted };
  }

  async getSession(sid: string): Promise<SessionRecord | null> {
    if (typeof sid !== 'string') return this.#read(() => null);
    return this.#read(() => {
      const row = this.#sql.sessionBySid.get(sid);
      return row === undefined ? null : parseRecord(row);
    });
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    if (typeof userId !== 'string') return this.#read(() => []);
    // Already ordered most recently seen first by the query.
    return this.#read(() => this.#retained(userId, now).filter((s) => isLive(s, now)));
  }

  async rotateRefresh(input: RotateInput): Promise<RotateResult> {
    return this.#write((committed) => {
      const row = typeof input.sid === 'string' ? this.#sql.sessionBySid.get(input.sid) : undefined;
      const { result, write } = decideRotation(row === undefined ? null : parseRecord(row), input);
      if (write) {
        this.#sql.updateSession.run(columns(write, input.retention));
        if (result.outcome === 'reuse') this.#recordRevocation(write, input.retention, committed);
      }
      return result;
    });
  }

  async revokeSession(input: RevokeSessionInput): Promise<{ session: SessionRecord; changed: boolean } | null> {
    if (typeof input.sid !== 'string') return this.#read(() => null);
    return this.#write((committed) => {
      const row = this.#sql.sessionBySid.get(input.sid);
      if (row === undefined) return null;
      const session = parseRecord(row);
      if (session.revokedAt !== null) return { session, changed: false };
      return { session: this.#revoke(session, input.reason, input.now, input.retention, committed), changed: true };
    });
  }

  async revokeUserSessions(input: RevokeUserInput): Promise<SessionRecord[]> {
    if (typeof input.userId !== 'string') return this.#read(() => []);
    return this.#write((committed) =>
      this.#retained(input.userId, input.now)
        .filter((s) => s.sid !== input.exceptSid && isLive(s, input.now))
        .map((s) => this.#revoke(s, input.reason, input.now, input.retention, committed)),
    );
  }

  async revocationsSince(since: number, limit?: number): Promise<RevocationEntry[]> {
    return this.#read(() => this.#sql.revocationsSince.all(since, rowLimit(limit, 10_000)).map(entryOf));
  }

  async appendEvents(events: readonly SessionEvent[]): Promise<void> {
    if (events.length === 0) return this.#read(() => undefined);
    this.#write(() => {
      let last = 0;
      for (const event of events) last = Number(this.#sql.insertEvent.run(JSON.stringify(event)).lastInsertRowid);
      // Ids are dense (one writer at a time, never reused), so this keeps the newest maxEvents.
      this.#sql.trimEvents.run(last - this.#maxEvents);
    });
  }

  async readEvents(options: { after?: string | null; limit?: number } = {}): Promise<StoredEvent[]> {
    const after = options.after ? Number(options.after) : 0;
    if (!Number.isFinite(after)) return this.#read(() => []);
    return this.#read(() =>
      this.#sql.eventsAfter.all(after, rowLimit(options.limit, 100)).map((row) => ({ ...(JSON.parse(row.event) as SessionEvent), id: String(row.id) })),
    );
  }

  async listKeys(): Promise<StoredKey[]> {
    return this.#read(() => this.#sql.listKeys.all().map((key) => JSON.parse(key) as StoredKey));
  }

  async putKey(key: StoredKey): Promise<void> {
    this.#write(() => this.#sql.putKey.run(key.kid, JSON.stringify(key)));
  }

  async deleteKey(kid: string): Promise<void> {
    if (typeof kid !== 'string') return this.#read(() => undefined);
    this.#write(() => this.#sql.deleteKey.run(kid));
  }

  async createUser(user: UserRecord): Promise<void> {
    this.#write(() => {
      const { changes } = this.#sql.insertUser.run(user.id, user.username, user.passwordHash, user.createdAt, user.updatedAt);
      if (changes === 0) throw new TesseraError('conflict', 'a user with that username or id exists');
    });
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    if (typeof username !== 'string') return this.#read(() => null);
    return this.#read(() => userOf(this.#sql.userByUsername.get(username)));
  }

  async getUser(id: string): Promise<UserRecord | null> {
    if (typeof id !== 'string') return this.#read(() => null);
    return this.#read(() => userOf(this.#sql.userById.get(id)));
  }

  async setPasswordHash(id: string, passwordHash: string, now: number): Promise<boolean> {
    if (typeof id !== 'string') return this.#read(() => false);
    return this.#write(() => this.#sql.setPasswordHash.run(passwordHash, now, id).changes > 0);
  }

  async deleteUser(id: string): Promise<boolean> {
    if (typeof id !== 'string') return this.#read(() => false);
    return this.#write(() => this.#sql.deleteUser.run(id).changes > 0);
  }

  async listUsers(): Promise<UserRecord[]> {
    return this.#read(() => this.#sql.listUsers.all().map((row) => userOf(row)!));
  }

  async hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    return this.#write(() => {
      const row = this.#sql.hit.get({ key, now, window: windowMs })!;
      return { count: row.count, resetAt: row.reset_at };
    });
  }

  async ping(): Promise<void> {
    this.#read(() => this.#sql.ping.get());
  }

  /**
   * Deletes sessions past `purgeAt`, revocation entries past their `keep_until` and counters whose
   * window ended, in transactions of at most 500 rows, yielding between them so that no request (of
   * this process or another) waits long behind the sweep. Returns the number of rows deleted.
   */
  async sweep(now: number): Promise<number> {
    let removed = 0;
    for (const statement of [this.#sql.sweepSessions, this.#sql.sweepRevocations, this.#sql.sweepCounters, this.#sql.sweepData]) {
      for (;;) {
        const { changes } = this.#write(() => statement.run(now, SWEEP_BATCH));
        removed += changes;
        if (changes < SWEEP_BATCH) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return removed;
  }

  async getData(namespace: string, key: string, now: number): Promise<DataEntry | null> {
    if (!isDataNamespace(namespace) || !isDataKey(key)) return this.#read(() => null);
    return this.#read(() => {
      const row = this.#sql.getData.get(namespace, key, now);
      return row === undefined ? null : { key, value: row.value, expiresAt: row.expires_at };
    });
  }

  async setData(namespace: string, key: string, value: string, expiresAt: number, now: number): Promise<void> {
    checkDataWrite(namespace, key, value, expiresAt, now);
    this.#write(() => {
      if (expiresAt <= now) this.#sql.deleteData.run(namespace, key);
      else this.#sql.setData.run(namespace, key, value, expiresAt);
    });
  }

  async touchData(namespace: string, key: string, expiresAt: number, now: number): Promise<boolean> {
    checkDataWrite(namespace, key, undefined, expiresAt, now);
    return this.#write(() => {
      if (expiresAt > now) return this.#sql.touchData.run(expiresAt, namespace, key, now).changes > 0;
      return this.#sql.expireData.run(namespace, key, now).changes > 0;
    });
  }

  async deleteData(namespace: string, key: string): Promise<void> {
    if (!isDataNamespace(namespace) || !isDataKey(key)) return this.#read(() => undefined);
    this.#write(() => this.#sql.deleteData.run(namespace, key));
  }

  async listData(namespace: string, now: number): Promise<DataEntry[]> {
    if (!isDataNamespace(namespace)) return this.#read(() => []);
    return this.#read(() => this.#sql.listData.all(namespace, now).map((row) => ({ key: row.key, value: row.value, expiresAt: row.expires_at })));
  }

  async countData(namespace: string, now: number): Promise<number> {
    if (!isDataNamespace(namespace)) return this.#read(() => 0);
    return this.#read(() => this.#sql.countData.get(namespace, now) ?? 0);
  }

  async clearData(namespace: string): Promise<void> {
    if (!isDataNamespace(namespace)) return this.#read(() => undefined);
    this.#write(() => this.#sql.clearData.run(namespace));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pollTimer);
    clearInterval(this.#sweepTimer);
    this.#feed.close();
    this.#published.clear();
    try {
      this.#db.close();
    } catch {
      // Closing releases what it can; there is nothing more to do with a handle that will not close.
    }
  }

  /** Runs a read (one statement: its own snapshot), mapping driver failures to `store_unavailable`. */
  #read<T>(fn: () => T): T {
    this.#checkOpen();
    try {
      return fn();
    } catch (error) {
      throw storeUnavailable(error, 'the SQLite store');
    }
  }

  /**
   * Runs `fn` as one BEGIN IMMEDIATE transaction. The revocations it records are published to this
   * process's listeners after the commit — never before, and never for a transaction that rolled back.
   */
  #write<T>(fn: (committed: Committed[]) => T): T {
    this.#checkOpen();
    const committed: Committed[] = [];
    let result: T;
    try {
      result = this.#transaction.immediate(() => fn(committed)) as T;
    } catch (error) {
      throw storeUnavailable(error, 'the SQLite store');
    }
    if (committed.length > 0) {
      for (const c of committed) this.#published.add(c.id);
      this.#feed.publish(committed.map((c) => c.entry));
    }
    return result;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TesseraError('store_unavailable', 'the SQLite store is closed');
  }

  /** The user's records that are still retained at `now`, most recently seen first. */
  #retained(userId: string, now: number): SessionRecord[] {
    return this.#sql.userSessions.all(userId, now).map(parseRecord);
  }

  #revoke(session: SessionRecord, reason: RevokeReason, now: number, retention: number, committed: Committed[]): SessionRecord {
    const revoked = revokedRecord(session, reason, now);
    this.#sql.updateSession.run(columns(revoked, retention));
    this.#recordRevocation(revoked, retention, committed);
    return revoked;
  }

  #recordRevocation(session: SessionRecord, retention: number, committed: Committed[]): void {
    const entry = revocationOf(session);
    const { lastInsertRowid } = this.#sql.insertRevocation.run(entry.sid, entry.userId, entry.reason, entry.at, entry.at + retention);
    committed.push({ id: Number(lastInsertRowid), entry });
  }

  /**
   * Reads revocation rows past the cursor and publishes those this handle did not commit itself (it
   * published them at commit). Row ids follow commit order, because writers hold the write lock from
   * BEGIN to COMMIT: every row at or below the newest one visible has been committed.
   */
  #poll(): void {
    if (this.#closed) return;
    try {
      for (;;) {
        const rows = this.#sql.revocationsAfter.all(this.#cursor, POLL_BATCH);
        const fresh: RevocationEntry[] = [];
        for (const row of rows) {
          this.#cursor = row.id;
          if (!this.#published.delete(row.id)) fresh.push(entryOf(row));
        }
        this.#feed.publish(fresh);
        if (rows.length < POLL_BATCH) break;
      }
      this.#feed.polled();
    } catch {
      this.#feed.pollFailed();
    }
  }

  async #sweepOnTimer(): Promise<void> {
    if (this.#sweeping || this.#closed) return;
    this.#sweeping = true;
    try {
      await this.sweep(this.#clock.now());
    } catch {
      // A busy or failing database is retried at the next tick; requests report it meanwhile.
    } finally {
      this.#sweeping = false;
    }
  }
}

function prepare(db: Database.Database) {
  return {
    sessionBySid: db.prepare<[string], { record: string }>('SELECT record FROM sessions WHERE sid = ?'),
    userSessions: db.prepare<[string, number], { record: string }>(
      'SELECT record FROM sessions WHERE user_id = ? AND purge_at > ? ORDER BY last_seen_at DESC, created_at DESC, sid',
    ),
    insertSession: db.prepare<[SessionColumns]>(
      `INSERT INTO sessions (sid, user_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at, revoked_at, purge_at, record)
       VALUES (@sid, @user_id, @created_at, @last_seen_at, @idle_expires_at, @absolute_expires_at, @revoked_at, @purge_at, @record)`,
    ),
    updateSession: db.prepare<[SessionColumns]>(
      `UPDATE sessions SET user_id = @user_id, created_at = @created_at, last_seen_at = @last_seen_at,
         idle_expires_at = @idle_expires_at, absolute_expires_at = @absolute_expires_at, revoked_at = @revoked_at,
         purge_at = @purge_at, record = @record
       WHERE sid = @sid`,
    ),
    insertRevocation: db.prepare<[string, string, string, number, number]>(
      'INSERT INTO revocations (sid, user_id, reason, at, keep_until) VALUES (?, ?, ?, ?, ?)',
    ),
    revocationsSince: db.prepare<[number, number], RevocationRow>(
      'SELECT id, sid, user_id, reason, at FROM revocations WHERE at >= ? ORDER BY at, id LIMIT ?',
    ),
    revocationsAfter: db.prepare<[number, number], RevocationRow>(
      'SELECT id, sid, user_id, reason, at FROM revocations WHERE id > ? ORDER BY id LIMIT ?',
    ),
    lastRevocationId: db.prepare<[], number>('SELECT max(id) FROM revocations').pluck(),
    insertEvent: db.prepare<[string]>('INSERT INTO events (event) VALUES (?)'),
    trimEvents: db.prepare<[number]>('DELETE FROM events WHERE id <= ?'),
    eventsAfter: db.prepare<[number, number], { id: number; event: string }>('SELECT id, event FROM events WHERE id > ? ORDER BY id LIMIT ?'),
    listKeys: db.prepare<[], string>('SELECT key FROM keys').pluck(),
    putKey: db.prepare<[string, string]>('INSERT INTO keys (kid, key) VALUES (?, ?) ON CONFLICT (kid) DO UPDATE SET key = excluded.key'),
    deleteKey: db.prepare<[string]>('DELETE FROM keys WHERE kid = ?'),
    // No conflict target: DO NOTHING covers both the id and the username, and `changes` tells which happened.
    insertUser: db.prepare<[string, string, string, number, number]>(
      'INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    userById: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
    userByUsername: db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?'),
    setPasswordHash: db.prepare<[string, number, string]>('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?'),
    deleteUser: db.prepare<[string]>('DELETE FROM users WHERE id = ?'),
    listUsers: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY username'),
    // One statement: a fresh window at the first hit and after the window ended, else one more hit.
    // (SET expressions all read the row as it was before the update.)
    hit: db.prepare<[{ key: string; now: number; window: number }], { count: number; reset_at: number }>(
      `INSERT INTO counters (key, count, reset_at) VALUES (@key, 1, @now + @window)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN @now >= reset_at THEN 1 ELSE count + 1 END,
         reset_at = CASE WHEN @now >= reset_at THEN @now + @window ELSE reset_at END
       RETURNING count, reset_at`,
    ),
    ping: db.prepare<[], unknown>('SELECT 1 FROM sqlite_schema LIMIT 1'),
    sweepSessions: db.prepare<[number, number]>(
      'DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE purge_at <= ? LIMIT ?)',
    ),
    sweepRevocations: db.prepare<[number, number]>(
      'DELETE FROM revocations WHERE id IN (SELECT id FROM revocations WHERE keep_until <= ? LIMIT ?)',
    ),
    sweepCounters: db.prepare<[number, number]>(
      'DELETE FROM counters WHERE rowid IN (SELECT rowid FROM counters WHERE reset_at <= ? LIMIT ?)',
    ),
    // A WITHOUT ROWID table: batches are picked by the primary key.
    sweepData: db.prepare<[number, number]>(
      'DELETE FROM data WHERE (namespace, key) IN (SELECT namespace, key FROM data WHERE expires_at <= ? LIMIT ?)',
    ),
    getData: db.prepare<[string, string, number], { value: string; expires_at: number }>(
      'SELECT value, expires_at FROM data WHERE namespace = ? AND key = ? AND expires_at > ?',
    ),
    setData: db.prepare<[string, string, string, number]>(
      `INSERT INTO data (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    ),
    touchData: db.prepare<[number, string, string, number]>('UPDATE data SET expires_at = ? WHERE namespace = ? AND key = ? AND expires_at > ?'),
    expireData: db.prepare<[string, string, number]>('DELETE FROM data WHERE namespace = ? AND key = ? AND expires_at > ?'),
    deleteData: db.prepare<[string, string]>('DELETE FROM data WHERE namespace = ? AND key = ?'),
    listData: db.prepare<[string, number], { key: string; value: string; expires_at: number }>(
      'SELECT key, value, expires_at FROM data WHERE namespace = ? AND expires_at > ?',
    ),
    countData: db.prepare<[string, number], number>('SELECT count(*) FROM data WHERE namespace = ? AND expires_at > ?').pluck(),
    clearData: db.prepare<[string]>('DELETE FROM data WHERE namespace = ?'),
  };
}

function columns(record: SessionRecord, retention: number): SessionColumns {
  return {
    sid: record.sid,
    user_id: record.userId,
    created_at: record.createdAt,
    last_seen_at: record.lastSeenAt,
    idle_expires_at: record.idleExpiresAt,
    absolute_expires_at: record.absoluteExpiresAt,
    revoked_at: record.revokedAt,
    purge_at: purgeAt(record, retention),
    record: JSON.stringify(record),
  };
}

function parseRecord(row: { record: string }): SessionRecord {
  return JSON.parse(row.record) as SessionRecord;
}

function entryOf(row: RevocationRow): RevocationEntry {
  return { sid: row.sid, userId: row.user_id, reason: row.reason, at: row.at };
}

function userOf(row: UserRow | undefined): UserRecord | null {
  if (row === undefined) return null;
  return { id: row.id, username: row.username, passwordHash: row.password_hash, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** A row count from a caller: the default when it is not a number, else clamped to a whole number ≥ 0. */
function rowLimit(value: number | undefined, fallback: number): number {
  if (typeof value !== 'number' || Number.isNaN(value)) return fallback;
  return Math.floor(Math.min(Math.max(value, 0), Number.MAX_SAFE_INTEGER));
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TesseraError('invalid_config', `${name} must be a positive number of ${name === 'maxEvents' ? 'events' : 'ms'}`);
  }
  return value;
}

function isSqliteError(error: unknown, code: string): boolean {
  return error instanceof Database.SqliteError && error.code === code;
}
