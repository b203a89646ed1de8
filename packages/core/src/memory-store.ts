import { decideRotation, planAdmission, revokedRecord, type RotateInput, type RotateResult } from './decisions.js';
import { TesseraError } from './errors.js';
import type { SessionEvent, StoredEvent } from './events.js';
import { LocalRevocationFeed } from './feed.js';
import { checkDataWrite, isDataKey, isDataNamespace, type DataEntry, type SessionDataStore } from './session-data.js';
import { isLive, purgeAt, revocationOf, type RevocationEntry, type SessionRecord } from './session.js';
import type {
  CreateSessionInput,
  CreateSessionResult,
  RevokeSessionInput,
  RevokeUserInput,
  SessionStore,
  StoredKey,
  UserRecord,
} from './store.js';

export interface MemoryStoreOptions {
  /** Events kept in the log. Default 10,000. */
  maxEvents?: number;
  /** Feed heartbeat interval in ms. Default 1000. */
  heartbeatInterval?: number;
}

const copy = <T>(value: T): T => structuredClone(value);

/**
 * The in-memory store: for tests, development and single-process deployments that may lose their
 * sessions on restart. Every method runs without awaiting between its reads and writes, which makes
 * it atomic on Node's single thread. It has the session-data ability too (session-data.ts).
 */
export class MemoryStore implements SessionStore, SessionDataStore {
  readonly kind = 'memory';
  readonly feed: LocalRevocationFeed;
  readonly #maxEvents: number;
  readonly #sessions = new Map<string, { record: SessionRecord; purgeAt: number }>();
  readonly #byUser = new Map<string, Set<string>>();
  #revocations: { entry: RevocationEntry; keepUntil: number }[] = [];
  #events: StoredEvent[] = [];
  #eventSeq = 0;
  readonly #keys = new Map<string, StoredKey>();
  readonly #users = new Map<string, UserRecord>();
  readonly #counters = new Map<string, { count: number; resetAt: number }>();
  /** namespace → key → entry (session-data.ts). */
  readonly #data = new Map<string, Map<string, { value: string; expiresAt: number }>>();
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxEvents = options.maxEvents ?? 10_000;
    this.feed = new LocalRevocationFeed(options.heartbeatInterval ?? 1000);
  }

  async createSession(input: CreateSessionInput): Promise<CreateSessionResult> {
    this.#open();
    const { session, now } = input;
    if (this.#sessions.has(session.sid)) throw new TesseraError('internal_error', 'duplicate session id');
    const existing = this.#userRecords(session.userId, now);
    const plan = planAdmission(existing, now, input.maxSessions, input.onLimit);
    if (plan === 'reject') {
      throw new TesseraError('session_limit_reached', `user already has ${input.maxSessions} live sessions`);
    }
    const evicted = plan.map((s) => this.#revoke(s, 'evicted', now, input.retention));
    this.#put(copy(session), input.retention);
    this.feed.publish(evicted.map(revocationOf));
    return { session: copy(session), evicted: evicted.map(copy) };
  }

  async getSession(sid: string): Promise<SessionRecord | null> {
    this.#open();
    const held = this.#sessions.get(sid);
    return held ? copy(held.record) : null;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    this.#open();
    return this.#userRecords(userId, now)
      .filter((s) => isLive(s, now))
      .sort((a, b) => b.lastSeenAt - a.lastSeenAt || b.createdAt - a.createdAt)
      .map(copy);
  }

  async rotateRefresh(input: RotateInput): Promise<RotateResult> {
    this.#open();
    const held = this.#sessions.get(input.sid);
    const { result, write } = decideRotation(held ? held.record : null, input);
    if (write) {
      this.#put(copy(write), input.retention);
      if (result.outcome === 'reuse') {
        this.#recordRevocation(write, input.retention);
        this.feed.publish([revocationOf(write)]);
      }
    }
    return copy(result);
  }

  async revokeSession(input: RevokeSessionInput): Promise<{ session: SessionRecord; changed: boolean } | null> {
    this.#open();
    const held = this.#sessions.get(input.sid);
    if (!held) return null;
    if (held.record.revokedAt !== null) return { session: copy(held.record), changed: false };
    const revoked = this.#revoke(held.record, input.reason, input.now, input.retention);
    this.feed.publish([revocationOf(revoked)]);
    return { session: copy(revoked), changed: true };
  }

  async revokeUserSessions(input: RevokeUserInput): Promise<SessionRecord[]> {
    this.#open();
    const revoked = this.#userRecords(input.userId, input.now)
      .filter((s) => s.sid !== input.exceptSid && isLive(s, input.now))
      .map((s) => this.#revoke(s, input.reason, input.now, input.retention));
    this.feed.publish(revoked.map(revocationOf));
    return revoked.map(copy);
  }

  async revocationsSince(since: number, limit = 10_000): Promise<RevocationEntry[]> {
    this.#open();
    return this.#revocations
      .filter((r) => r.entry.at >= since)
      .slice(0, limit)
      .map((r) => copy(r.entry));
  }

  async appendEvents(events: readonly SessionEvent[]): Promise<void> {
    this.#open();
    for (const event of events) this.#events.push({ ...copy(event), id: String(++this.#eventSeq) });
    if (this.#events.length > this.#maxEvents) this.#events = this.#events.slice(-this.#maxEvents);
  }

  async readEvents(options: { after?: string | null; limit?: number } = {}): Promise<StoredEvent[]> {
    this.#open();
    const after = options.after ? Number(options.after) : 0;
    const limit = options.limit ?? 100;
    if (!Number.isFinite(after)) return [];
    return this.#events.filter((e) => Number(e.id) > after).slice(0, limit).map(copy);
  }

  async listKeys(): Promise<StoredKey[]> {
    this.#open();
    return [...this.#keys.values()].map(copy);
  }

  async putKey(key: StoredKey): Promise<void> {
    this.#open();
    this.#keys.set(key.kid, copy(key));
  }

  async deleteKey(kid: string): Promise<void> {
    this.#open();
    this.#keys.delete(kid);
  }

  async createUser(user: UserRecord): Promise<void> {
    this.#open();
    if (this.#users.has(user.id) || [...this.#users.values()].some((u) => u.username === user.username)) {
      throw new TesseraError('conflict', 'a user with that username or id exists');
    }
    this.#users.set(user.id, copy(user));
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    this.#open();
    const user = [...this.#users.values()].find((u) => u.username === username);
    return user ? copy(user) : null;
  }

  async getUser(id: string): Promise<UserRecord | null> {
    this.#open();
    const user = this.#users.get(id);
    return user ? copy(user) : null;
  }

  async setPasswordHash(id: string, passwordHash: string, now: number): Promise<boolean> {
    this.#open();
    const user = this.#users.get(id);
    if (!user) return false;
    this.#users.set(id, { ...user, passwordHash, updatedAt: now });
    return true;
  }

  async deleteUser(id: string): Promise<boolean> {
    this.#open();
    return this.#users.delete(id);
  }

  async listUsers(): Promise<UserRecord[]> {
    this.#open();
    return [...this.#users.values()].sort((a, b) => (a.username < b.username ? -1 : 1)).map(copy);
  }

  async hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    this.#open();
    let counter = this.#counters.get(key);
    if (!counter || now >= counter.resetAt) counter = { count: 0, resetAt: now + windowMs };
    counter.count += 1;
    this.#counters.set(key, counter);
    return { ...counter };
  }

  async ping(): Promise<void> {
    this.#open();
  }

  async sweep(now: number): Promise<number> {
    this.#open();
    let removed = 0;
    for (const [sid, held] of this.#sessions) {
      if (now >= held.purgeAt) {
        this.#sessions.delete(sid);
        const sids = this.#byUser.get(held.record.userId);
        sids?.delete(sid);
        // A user with nothing left is forgotten: otherwise every user ever seen would stay in the map.
        if (sids?.size === 0) this.#byUser.delete(held.record.userId);
        removed++;
      }
    }
    const before = this.#revocations.length;
    this.#revocations = this.#revocations.filter((r) => now < r.keepUntil);
    removed += before - this.#revocations.length;
    for (const [key, counter] of this.#counters) if (now >= counter.resetAt) this.#counters.delete(key);
    for (const [namespace, entries] of this.#data) {
      for (const [key, entry] of entries) {
        if (now >= entry.expiresAt) {
          entries.delete(key);
          removed++;
        }
      }
      if (entries.size === 0) this.#data.delete(namespace);
    }
    return removed;
  }

  async getData(namespace: string, key: string, now: number): Promise<DataEntry | null> {
    this.#open();
    if (!isDataNamespace(namespace) || !isDataKey(key)) return null;
    const entry = this.#data.get(namespace)?.get(key);
    return entry && now < entry.expiresAt ? { key, value: entry.value, expiresAt: entry.expiresAt } : null;
  }

  async setData(namespace: string, key: string, value: string, expiresAt: number, now: number): Promise<void> {
    this.#open();
    checkDataWrite(namespace, key, value, expiresAt, now);
    if (expiresAt <= now) {
      this.#data.get(namespace)?.delete(key);
      return;
    }
    let entries = this.#data.get(namespace);
    if (!entries) this.#data.set(namespace, (entries = new Map()));
    entries.set(key, { value, expiresAt });
  }

  async touchData(namespace: string, key: string, expiresAt: number, now: number): Promise<boolean> {
    this.#open();
    checkDataWrite(namespace, key, undefined, expiresAt, now);
    const entries = this.#data.get(namespace);
    const entry = entries?.get(key);
    if (!entries || !entry || now >= entry.expiresAt) return false;
    if (expiresAt <= now) entries.delete(key);
    else entries.set(key, { value: entry.value, expiresAt });
    return true;
  }

  async deleteData(namespace: string, key: string): Promise<void> {
    this.#open();
    if (isDataNamespace(namespace) && isDataKey(key)) this.#data.get(namespace)?.delete(key);
  }

  async listData(namespace: string, now: number): Promise<DataEntry[]> {
    this.#open();
    const entries = isDataNamespace(namespace) ? this.#data.get(namespace) : undefined;
    if (!entries) return [];
    const out: DataEntry[] = [];
    for (const [key, entry] of entries) if (now < entry.expiresAt) out.push({ key, value: entry.value, expiresAt: entry.expiresAt });
    return out;
  }

  async countData(namespace: string, now: number): Promise<number> {
    return (await this.listData(namespace, now)).length;
  }

  async clearData(namespace: string): Promise<void> {
    this.#open();
    if (isDataNamespace(namespace)) this.#data.delete(namespace);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.feed.close();
  }

  #open(): void {
    if (this.#closed) throw new TesseraError('store_unavailable', 'the memory store is closed');
  }

  #userRecords(userId: string, now: number): SessionRecord[] {
    const sids = this.#byUser.get(userId);
    if (!sids) return [];
    const out: SessionRecord[] = [];
    for (const sid of sids) {
      const held = this.#sessions.get(sid);
      if (held && now < held.purgeAt) out.push(held.record);
    }
    return out;
  }

  #put(record: SessionRecord, retention: number): void {
    this.#sessions.set(record.sid, { record, purgeAt: purgeAt(record, retention) });
    let sids = this.#byUser.get(record.userId);
    if (!sids) this.#byUser.set(record.userId, (sids = new Set()));
    sids.add(record.sid);
  }

  #revoke(session: SessionRecord, reason: SessionRecord['revokeReason'] & string, now: number, retention: number): SessionRecord {
    const revoked = revokedRecord(session, reason, now);
    this.#put(revoked, retention);
    this.#recordRevocation(revoked, retention);
    return revoked;
  }

  #recordRevocation(session: SessionRecord, retention: number): void {
    const entry = revocationOf(session);
    this.#revocations.push({ entry, keepUntil: entry.at + retention });
  }
}
