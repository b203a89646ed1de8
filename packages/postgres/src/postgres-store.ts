/**
 * The PostgreSQL store: the store contract (see core's `store.ts`) over `pg`.
 *
 * Every method is one transaction at READ COMMITTED, made safe by explicit locks rather than by
 * SERIALIZABLE retries: whatever reads a user's sessions to decide the device limit first takes a
 * per-user advisory lock, and whatever changes a session reads it `FOR UPDATE`. READ COMMITTED takes
 * a new snapshot per statement, so the locking read, which runs after the lock is granted, sees every
 * transaction that held the lock before. Reads and writes of a transaction are pipelined: a session
 * transaction costs two round trips (BEGIN + lock + locking read; write + COMMIT).
 */
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
  systemClock,
  type Clock,
  type CreateSessionInput,
  type CreateSessionResult,
  type DataEntry,
  type RevocationEntry,
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
import pg from 'pg';
import { migrate } from './migrations.js';
import { PostgresRevocationFeed, entryPayload } from './revocation-feed.js';
import {
  eventRow,
  revocationEntry,
  sessionRecord,
  sessionValues,
  storedEvent,
  storedKey,
  userRecord,
  type EventRow,
  type KeyRow,
  type RevocationRow,
  type SessionRow,
  type UserRow,
} from './rows.js';
import { SCHEMA_PATTERN, connectionIsSound, isUniqueViolation, lockKey, quoteIdentifier, scrub, storable, unavailable } from './sql.js';
import { statements, type Statement } from './statements.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database?sslmode=...` (any setting `pg` understands). */
  connectionString: string;
  /** The schema that holds Tessera's tables; created if missing. Default `tessera`. */
  schema?: string;
  /** Events kept in the log. Default 10,000. */
  maxEvents?: number;
  /** Feed heartbeat interval in ms. Default 1000. */
  heartbeatInterval?: number;
  /** Connections in the pool (the feed's listening connection is one more). Default 10. */
  poolSize?: number;
  /** Longest a statement may run, lock waits included, in ms. Default 5000. */
  statementTimeout?: number;
  /** Longest wait for a connection (from the pool, or a new one), in ms. Default 5000. */
  connectTimeout?: number;
  /** How often expired rows are swept, in ms; 0 = only when `sweep` is called. Default 60,000. */
  sweepInterval?: number;
  /** Rows deleted per sweep statement. Default 500. */
  sweepBatch?: number;
  /** Upper bound of the feed's reconnect backoff, in ms. Default 5000. */
  maxReconnectDelay?: number;
  /** The clock of the sweep timer. Default the system clock. */
  clock?: Clock;
}

type Query = (statement: Statement) => Promise<pg.QueryResult>;
type Translate = (error: unknown) => TesseraError | undefined;

interface Write {
  insert?: SessionRecord[];
  update?: SessionRecord[];
  revocations?: RevocationEntry[];
  retention: number;
}

export class PostgresStore implements SessionStore, SessionDataStore {
  readonly kind = 'postgres';
  readonly feed: PostgresRevocationFeed;
  /** The schema this store works in. */
  readonly schema: string;
  readonly #pool: pg.Pool;
  readonly #sql: ReturnType<typeof statements>;
  readonly #channel: string;
  readonly #userLocks: number;
  readonly #eventLock: number;
  readonly #maxEvents: number;
  readonly #sweepBatch: number;
  readonly #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping = false;
  #closed = false;

  /** Connects, creates or migrates the schema, and returns a ready store; `store_unavailable` if it cannot. */
  static async connect(options: PostgresStoreOptions): Promise<PostgresStore> {
    const o = resolveOptions(options);
    const client = new pg.Client({ ...o.client, statement_timeout: MIGRATION_TIMEOUT, query_timeout: MIGRATION_TIMEOUT + 1000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await migrate(client, o.schema, quoteIdentifier(o.schema));
    } catch (error) {
      throw unavailable(error);
    } finally {
      await client.end().catch(() => undefined);
    }
    return new PostgresStore(o);
  }

  private constructor(o: ResolvedOptions) {
    this.schema = o.schema;
    this.#sql = statements(quoteIdentifier(o.schema));
    this.#channel = `${o.schema}.revocations`;
    this.#userLocks = lockKey(`tessera/${o.schema}/users`);
    this.#eventLock = lockKey(`tessera/${o.schema}/events`);
    this.#maxEvents = o.maxEvents;
    this.#sweepBatch = o.sweepBatch;
    this.#pool = new pg.Pool({ ...o.client, max: o.poolSize, idleTimeoutMillis: 30_000, pipeline: true });
    // An idle connection that dies (a server restart) is dropped by the pool; it must not crash us.
    this.#pool.on('error', () => undefined);
    this.feed = new PostgresRevocationFeed({
      client: { ...o.client, application_name: 'tessera feed' },
      channel: this.#channel,
      heartbeatInterval: o.heartbeatInterval,
      maxReconnectDelay: o.maxReconnectDelay,
    });
    if (o.sweepInterval > 0) {
      this.#sweepTimer = setInterval(() => void this.sweep(o.clock.now()).catch(() => undefined), o.sweepInterval);
      this.#sweepTimer.unref();
    }
  }

  async createSession(input: CreateSessionInput): Promise<CreateSessionResult> {
    const { session, now } = input;
    return this.#transaction(
      async (q) => {
        const [, found] = await Promise.all([q(this.#lockUser(session.userId)), q(this.#sql('unrevokedForUpdate', [session.userId]))]);
        const plan = planAdmission(found.rows.map(sessionRecord), now, input.maxSessions, input.onLimit);
        if (plan === 'reject') throw new TesseraError('session_limit_reached', `user already has ${input.maxSessions} live sessions`);
        const evicted = plan.map((s) => revokedRecord(s, 'evicted', now));
        const writes = this.#writes({ insert: [session], update: evicted, revocations: evicted.map(revocationOf), retention: input.retention });
        return { result: { session: structuredClone(session), evicted }, writes };
      },
      (error) => (isUniqueViolation(error) ? new TesseraError('internal_error', 'duplicate session id', { cause: error }) : undefined),
    );
  }

  async getSession(sid: string): Promise<SessionRecord | null> {
    this.#open();
    if (!storable(sid)) return null;
    const { rows } = await this.#query(this.#sql('session', [sid]));
    return rows[0] ? sessionRecord(rows[0] as SessionRow) : null;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    this.#open();
    if (!storable(userId)) return [];
    const { rows } = await this.#query(this.#sql('unrevoked', [userId]));
    return (rows as SessionRow[]).map(sessionRecord).filter((s) => isLive(s, now));
  }

  async rotateRefresh(input: RotateInput): Promise<RotateResult> {
    this.#open();
    if (!storable(input.sid)) return { outcome: 'invalid' };
    return this.#transaction(async (q) => {
      const found = await q(this.#sql('sessionForUpdate', [input.sid]));
      const row = found.rows[0] as SessionRow | undefined;
      const { result, write } = decideRotation(row ? sessionRecord(row) : null, input);
      if (!write) return { result, writes: [] };
      const revocations = result.outcome === 'reuse' ? [revocationOf(write)] : [];
      return { result, writes: this.#writes({ update: [write], revocations, retention: input.retention }) };
    });
  }

  async revokeSession(input: RevokeSessionInput): Promise<{ session: SessionRecord; changed: boolean } | null> {
    this.#open();
    if (!storable(input.sid)) return null;
    return this.#transaction<{ session: SessionRecord; changed: boolean } | null>(async (q) => {
      const row = (await q(this.#sql('sessionForUpdate', [input.sid]))).rows[0] as SessionRow | undefined;
      if (!row) return { result: null, writes: [] };
      const session = sessionRecord(row);
      if (session.revokedAt !== null) return { result: { session, changed: false }, writes: [] };
      const revoked = revokedRecord(session, input.reason, input.now);
      const writes = this.#writes({ update: [revoked], revocations: [revocationOf(revoked)], retention: input.retention });
      return { result: { session: revoked, changed: true }, writes };
    });
  }

  async revokeUserSessions(input: RevokeUserInput): Promise<SessionRecord[]> {
    this.#open();
    if (!storable(input.userId)) return [];
    return this.#transaction(async (q) => {
      const [, found] = await Promise.all([q(this.#lockUser(input.userId)), q(this.#sql('unrevokedForUpdate', [input.userId]))]);
      const revoked = (found.rows as SessionRow[])
        .map(sessionRecord)
        .filter((s) => s.sid !== input.exceptSid && isLive(s, input.now))
        .map((s) => revokedRecord(s, input.reason, input.now));
      if (revoked.length === 0) return { result: [], writes: [] };
      return { result: revoked, writes: this.#writes({ update: revoked, revocations: revoked.map(revocationOf), retention: input.retention }) };
    });
  }

  async revocationsSince(since: number, limit = 10_000): Promise<RevocationEntry[]> {
    this.#open();
    if (Number.isNaN(since)) return [];
    const { rows } = await this.#query(this.#sql('revocationsSince', [since, count(limit)]));
    return (rows as RevocationRow[]).map(revocationEntry);
  }

  async appendEvents(events: readonly SessionEvent[]): Promise<void> {
    this.#open();
    if (events.length === 0) return;
    // Serialised by a lock so that ids are handed out in commit order: a reader's cursor never skips
    // an event that commits later with a smaller id. The whole transaction is one round trip.
    await this.#transaction(async () => ({
      result: undefined,
      writes: [
        this.#sql('lock', [this.#eventLock, 0]),
        this.#sql('appendEvents', [JSON.stringify(events.map(eventRow))]),
        this.#sql('trimEvents', [this.#maxEvents]),
      ],
    }));
  }

  async readEvents(options: { after?: string | null; limit?: number } = {}): Promise<StoredEvent[]> {
    this.#open();
    const after = options.after ?? '0';
    if (!/^\d{1,18}$/.test(after || '0')) return [];
    const { rows } = await this.#query(this.#sql('readEvents', [after || '0', count(options.limit ?? 100)]));
    return (rows as EventRow[]).map(storedEvent);
  }

  async listKeys(): Promise<StoredKey[]> {
    this.#open();
    return ((await this.#query(this.#sql('listKeys'))).rows as KeyRow[]).map(storedKey);
  }

  async putKey(key: StoredKey): Promise<void> {
    this.#open();
    await this.#query(
      this.#sql('putKey', [key.kid, JSON.stringify(key.publicJwk), JSON.stringify(key.privateJwk), key.createdAt, key.activatesAt, key.retiresAt, key.expiresAt]),
    );
  }

  async deleteKey(kid: string): Promise<void> {
    this.#open();
    if (!storable(kid)) return;
    await this.#query(this.#sql('deleteKey', [kid]));
  }

  async createUser(user: UserRecord): Promise<void> {
    this.#open();
    await this.#query(this.#sql('createUser', [user.id, user.username, user.passwordHash, user.createdAt, user.updatedAt]), (error) =>
      isUniqueViolation(error) ? new TesseraError('conflict', 'a user with that username or id exists') : undefined,
    );
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    this.#open();
    if (!storable(username)) return null;
    const row = (await this.#query(this.#sql('userByUsername', [username]))).rows[0] as UserRow | undefined;
    return row ? userRecord(row) : null;
  }

  async getUser(id: string): Promise<UserRecord | null> {
    this.#open();
    if (!storable(id)) return null;
    const row = (await this.#query(this.#sql('user', [id]))).rows[0] as UserRow | undefined;
    return row ? userRecord(row) : null;
  }

  async setPasswordHash(id: string, passwordHash: string, now: number): Promise<boolean> {
    this.#open();
    if (!storable(id)) return false;
    return (await this.#query(this.#sql('setPasswordHash', [id, passwordHash, now]))).rowCount === 1;
  }

  async deleteUser(id: string): Promise<boolean> {
    this.#open();
    if (!storable(id)) return false;
    return (await this.#query(this.#sql('deleteUser', [id]))).rowCount === 1;
  }

  async listUsers(): Promise<UserRecord[]> {
    this.#open();
    return ((await this.#query(this.#sql('listUsers'))).rows as UserRow[]).map(userRecord);
  }

  async hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    this.#open();
    const row = (await this.#query(this.#sql('hit', [scrub(key), now, windowMs]))).rows[0] as { count: number; reset_at: number };
    return { count: row.count, resetAt: row.reset_at };
  }

  async getData(namespace: string, key: string, now: number): Promise<DataEntry | null> {
    this.#open();
    if (!isDataNamespace(namespace) || !isDataKey(key)) return null;
    const row = (await this.#query(this.#sql('getData', [namespace, key, now]))).rows[0] as DataRow | undefined;
    return row ? dataEntry(row) : null;
  }

  async setData(namespace: string, key: string, value: string, expiresAt: number, now: number): Promise<void> {
    this.#open();
    checkDataWrite(namespace, key, value, expiresAt, now);
    // An entry born expired is no entry: the write removes whatever was there.
    if (expiresAt <= now) await this.#query(this.#sql('deleteData', [namespace, key]));
    else await this.#query(this.#sql('setData', [namespace, key, value, expiresAt]));
  }

  async touchData(namespace: string, key: string, expiresAt: number, now: number): Promise<boolean> {
    this.#open();
    checkDataWrite(namespace, key, undefined, expiresAt, now);
    const statement = expiresAt > now ? this.#sql('touchData', [namespace, key, expiresAt, now]) : this.#sql('expireData', [namespace, key, now]);
    return ((await this.#query(statement)).rowCount ?? 0) > 0;
  }

  async deleteData(namespace: string, key: string): Promise<void> {
    this.#open();
    if (!isDataNamespace(namespace) || !isDataKey(key)) return;
    await this.#query(this.#sql('deleteData', [namespace, key]));
  }

  async listData(namespace: string, now: number): Promise<DataEntry[]> {
    this.#open();
    if (!isDataNamespace(namespace)) return [];
    return ((await this.#query(this.#sql('listData', [namespace, now]))).rows as DataRow[]).map(dataEntry);
  }

  async countData(namespace: string, now: number): Promise<number> {
    this.#open();
    if (!isDataNamespace(namespace)) return 0;
    return ((await this.#query(this.#sql('countData', [namespace, now]))).rows[0] as { count: number }).count;
  }

  async clearData(namespace: string): Promise<void> {
    this.#open();
    if (!isDataNamespace(namespace)) return;
    await this.#query(this.#sql('clearData', [namespace]));
  }

  async ping(): Promise<void> {
    this.#open();
    await this.#query(this.#sql('ping'));
  }

  /**
   * Deletes sessions past `purgeAt`, revocation entries past their retention and finished counters,
   * in batches of `sweepBatch` rows, each batch its own short statement that skips rows in use.
   */
  async sweep(now: number): Promise<number> {
    this.#open();
    if (this.#sweeping) return 0;
    this.#sweeping = true;
    try {
      let removed = 0;
      for (const name of ['sweepSessions', 'sweepRevocations', 'sweepCounters', 'sweepData'] as const) {
        for (;;) {
          const deleted = (await this.#query(this.#sql(name, [now, this.#sweepBatch]))).rowCount ?? 0;
          removed += deleted;
          if (deleted < this.#sweepBatch || this.#closed) break;
        }
      }
      return removed;
    } finally {
      this.#sweeping = false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    this.feed.close();
    await this.#pool.end().catch(() => undefined);
  }

  #open(): void {
    if (this.#closed) throw new TesseraError('store_unavailable', 'the PostgreSQL store is closed');
  }

  #lockUser(userId: string): Statement {
    return this.#sql('lock', [this.#userLocks, lockKey(userId)]);
  }

  /** The statements that write what a decision produced, to be pipelined with COMMIT. */
  #writes(w: Write): Statement[] {
    const out: Statement[] = [];
    for (const s of w.update ?? []) out.push(this.#sql('updateSession', sessionValues(s, purgeAt(s, w.retention))));
    for (const e of w.revocations ?? []) {
      out.push(this.#sql('recordRevocation', [scrub(e.sid), scrub(e.userId), e.reason, e.at, e.at + w.retention, this.#channel, entryPayload(e)]));
    }
    for (const s of w.insert ?? []) out.push(this.#sql('insertSession', sessionValues(s, purgeAt(s, w.retention))));
    return out;
  }

  /** One statement in its own implicit transaction. */
  async #query(statement: Statement, translate?: Translate): Promise<pg.QueryResult> {
    try {
      return await this.#pool.query(statement);
    } catch (error) {
      throw translate?.(error) ?? unavailable(error);
    }
  }

  /**
   * One transaction on one connection: BEGIN is pipelined with `body`'s reads; `body` decides and
   * returns its result and its writes, which are pipelined with COMMIT (a `body` that reads nothing
   * makes the whole transaction one round trip). A rejection from `body` (a business error) rolls
   * back. A connection that failed, or whose state is unknown, is destroyed, not returned to the pool.
   */
  async #transaction<T>(body: (q: Query) => Promise<{ result: T; writes: Statement[] }>, translate?: Translate): Promise<T> {
    this.#open();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw unavailable(error);
    }
    let sound = true;
    const onError = () => {
      sound = false;
    };
    // A checked-out connection that dies between statements emits 'error'; unheard, it would crash.
    client.on('error', onError);
    const q: Query = (statement) => client.query(statement);
    try {
      const begin = client.query({ text: 'BEGIN' });
      // If BEGIN fails, so does everything after it; its own rejection is awaited below.
      begin.catch(() => undefined);
      const { result, writes } = await body(q);
      const committed = Promise.all([...writes.map((w) => client.query(w)), client.query({ text: 'COMMIT' })]);
      // Without reads, BEGIN's answer has not been awaited yet: it comes in the same round trip.
      await Promise.all([begin, committed]);
      return result;
    } catch (error) {
      if (sound && connectionIsSound(error)) await q({ text: 'ROLLBACK' }).catch(() => (sound = false));
      else sound = false;
      throw translate?.(error) ?? unavailable(error);
    } finally {
      client.removeListener('error', onError);
      client.release(sound ? undefined : true);
    }
  }
}

const MIGRATION_TIMEOUT = 60_000;

interface ResolvedOptions {
  client: pg.ClientConfig;
  schema: string;
  maxEvents: number;
  heartbeatInterval: number;
  poolSize: number;
  sweepInterval: number;
  sweepBatch: number;
  maxReconnectDelay: number;
  clock: Clock;
}

function resolveOptions(options: PostgresStoreOptions): ResolvedOptions {
  if (typeof options?.connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(options.connectionString)) {
    throw new TesseraError('invalid_config', 'connectionString must be a postgres:// or postgresql:// URL');
  }
  const schema = options.schema ?? 'tessera';
  if (typeof schema !== 'string' || !SCHEMA_PATTERN.test(schema)) {
    throw new TesseraError('invalid_config', `schema must match ${SCHEMA_PATTERN}, got ${JSON.stringify(schema)}`);
  }
  const statementTimeout = whole(options.statementTimeout, 5000, 'statementTimeout', 1);
  const connectTimeout = whole(options.connectTimeout, 5000, 'connectTimeout', 1);
  return {
    client: {
      connectionString: options.connectionString,
      connectionTimeoutMillis: connectTimeout,
      statement_timeout: statementTimeout,
      // The server enforces statement_timeout; this client-side bound also covers a silent network.
      query_timeout: statementTimeout + 1000,
      // A transaction left open by a process that froze must not hold its locks for long.
      idle_in_transaction_session_timeout: Math.max(10_000, 2 * statementTimeout),
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'tessera',
    },
    schema,
    maxEvents: whole(options.maxEvents, 10_000, 'maxEvents', 1),
    heartbeatInterval: whole(options.heartbeatInterval, 1000, 'heartbeatInterval', 10),
    poolSize: whole(options.poolSize, 10, 'poolSize', 1),
    sweepInterval: whole(options.sweepInterval, 60_000, 'sweepInterval', 0),
    sweepBatch: whole(options.sweepBatch, 500, 'sweepBatch', 1),
    maxReconnectDelay: whole(options.maxReconnectDelay, 5000, 'maxReconnectDelay', 100),
    clock: options.clock ?? systemClock,
  };
}

function whole(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TesseraError('invalid_config', `${name} must be a whole number of at least ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A LIMIT from a caller's number: whole, not negative (NaN and negatives read nothing). */
function count(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : limit === Infinity ? Number.MAX_SAFE_INTEGER : 0;
}

interface DataRow {
  key: string;
  value: string;
  expires_at: number;
}

function dataEntry(row: DataRow): DataEntry {
  return { key: row.key, value: row.value, expiresAt: row.expires_at };
}
