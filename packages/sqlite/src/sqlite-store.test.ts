import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Engine,
  ManualClock,
  hashSecret,
  newSecret,
  newSessionId,
  type FeedListener,
  type RevocationEntry,
  type SessionRecord,
  type SessionStore,
} from '@tessera/core';
import { expectCode, until } from '@tessera/core/conformance';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, SqliteStore, type SqliteStoreOptions } from './index.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2030, 0, 1);

const root = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let files = 0;
const toClose: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of toClose.splice(0).reverse()) await thing.close().catch(() => undefined);
});

function newPath(): string {
  return join(root, `${++files}.db`);
}

function open(options: Partial<SqliteStoreOptions> = {}): SqliteStore {
  const store = new SqliteStore({ path: newPath(), heartbeatInterval: 50, pollInterval: 50, ...options });
  toClose.push(store);
  return store;
}

async function engineOn(store: SessionStore, policy = {}, clock?: ManualClock): Promise<Engine> {
  const engine = await Engine.create({ store, issuer: 'https://tessera.test', audience: 'sqlite', policy, ...(clock ? { clock } : {}) });
  toClose.push({ close: () => engine.close({ closeStore: false }) });
  return engine;
}

function listen(store: SessionStore, partial: Partial<FeedListener>): () => void {
  return store.feed.subscribe({ revoked: () => {}, heartbeat: () => {}, connected: () => {}, ...partial });
}

/** A new session record as the engine would build it, with the times given. */
function record(userId: string, now: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    sid: newSessionId(userId),
    userId,
    device: { name: 'Test', kind: 'other' },
    ip: null,
    userAgent: null,
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + HOUR,
    absoluteExpiresAt: now + DAY,
    refresh: { hash: hashSecret(newSecret()), previousHash: null, olderHashes: [], rotatedAt: now, generation: 0, successor: null },
    revokedAt: null,
    revokeReason: null,
    claims: null,
    ...overrides,
  };
}

async function create(store: SessionStore, session: SessionRecord, retention = MINUTE): Promise<SessionRecord> {
  return (await store.createSession({ session, maxSessions: 0, onLimit: 'evict-oldest', now: session.createdAt, retention })).session;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SqliteStore', () => {
  describe('on disk', () => {
    it('keeps sessions, keys, users, revocations and events across close and reopen', async () => {
      const path = newPath();
      const first = new SqliteStore({ path });
      const engine = await Engine.create({ store: first, issuer: 'https://tessera.test', audience: 'sqlite' });
      const user = { id: 'u-1', username: 'ada', passwordHash: 'scrypt$x', createdAt: 1, updatedAt: 1 };
      await first.createUser(user);
      const kept = await engine.createSession({ userId: 'u-1', device: { name: 'Laptop', kind: 'desktop' }, claims: { role: 'admin' } });
      const gone = await engine.createSession({ userId: 'u-1' });
      await engine.revoke(gone.session.sid, 'logout');
      await engine.flushEvents();
      const jwks = engine.jwks();
      const entries = await first.revocationsSince(0);
      const events = await first.readEvents();
      await engine.close(); // closes the store too
      await expectCode(first.getSession(kept.session.sid), 'store_unavailable');

      const second = new SqliteStore({ path });
      const again = await Engine.create({ store: second, issuer: 'https://tessera.test', audience: 'sqlite' });
      try {
        expect(again.jwks()).toEqual(jwks);
        // Signed before the restart with the stored key, verified after it with the same key.
        await expect(again.verify(kept.accessToken)).resolves.toMatchObject({ sessionId: kept.session.sid, userId: 'u-1' });
        // The new verifier back-filled the revocation from the table.
        await expectCode(again.verify(gone.accessToken), 'session_revoked');
        expect(await second.getSession(kept.session.sid)).toEqual(kept.session);
        expect((await second.getSession(gone.session.sid))?.revokeReason).toBe('logout');
        expect(entries).toHaveLength(1);
        expect(await second.revocationsSince(0)).toEqual(entries);
        expect(await second.getUserByUsername('ada')).toEqual(user);
        expect(await second.readEvents()).toEqual(events);
        expect(events.map((e) => e.type)).toEqual(['session.created', 'session.created', 'session.revoked']);
        // The refresh token issued before the restart rotates after it.
        const refreshed = await again.refresh(kept.refreshToken);
        await expect(again.verify(refreshed.accessToken)).resolves.toMatchObject({ sessionId: kept.session.sid });
      } finally {
        await again.close();
      }
    });

    it('creates the schema with a version, and refuses a file from a newer release', async () => {
      const path = newPath();
      await new SqliteStore({ path }).close();
      const raw = new Database(path);
      try {
        expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
        expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
        raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      } finally {
        raw.close();
      }
      expect(() => new SqliteStore({ path })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    });

    it('refuses bad options with invalid_config, and an unusable path with store_unavailable', () => {
      expect(() => new SqliteStore({ path: '' })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
      expect(() => new SqliteStore({ path: newPath(), pollInterval: 0 })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
      expect(() => new SqliteStore({ path: newPath(), synchronous: 'off' as 'full' })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
      // A directory where the file should be.
      expect(() => new SqliteStore({ path: root })).toThrow(expect.objectContaining({ code: 'store_unavailable' }));
    });
  });

  describe('sweeping', () => {
    it('removes sessions, revocation entries and counters past retention, in batches, and keeps the others', async () => {
      const store = open();
      // 1,200 sessions that idled out at T0 + 1 h, forgettable from T0 + 1 h + 1 min: three batches.
      const idle: string[] = [];
      for (let i = 0; i < 1200; i++) idle.push((await create(store, record(`idle-${i}`, T0))).sid);
      const later = T0 + 2 * HOUR;
      const live = await create(store, record('live', later));
      const revoked = await create(store, record('revoked', later));
      await store.revokeSession({ sid: revoked.sid, reason: 'logout', now: later, retention: MINUTE });
      await store.hit('ended', MINUTE, T0);
      await store.hit('running', HOUR, later);

      // 1,200 idle sessions and the ended counter; the revoked session and its entry are still retained.
      expect(await store.sweep(later + 30_000)).toBe(1201);
      for (const sid of [idle[0]!, idle[599]!, idle[1199]!]) expect(await store.getSession(sid)).toBeNull();
      expect(await store.getSession(live.sid)).not.toBeNull();
      expect((await store.getSession(revoked.sid))?.revokeReason).toBe('logout');
      expect(await store.revocationsSince(0)).toHaveLength(1);
      expect((await store.hit('running', HOUR, later + 30_000)).count).toBe(2);

      // Retention over: the revoked session and its entry go.
      expect(await store.sweep(later + MINUTE)).toBe(2);
      expect(await store.getSession(revoked.sid)).toBeNull();
      expect(await store.revocationsSince(0)).toEqual([]);
      expect(await store.getSession(live.sid)).not.toBeNull();
      expect(await store.sweep(later + MINUTE)).toBe(0);
    });

    it('sweeps on a timer by its clock', async () => {
      const clock = new ManualClock(T0);
      const store = open({ sweepInterval: 20, clock });
      const session = await create(store, record('timer', T0));
      await store.revokeSession({ sid: session.sid, reason: 'admin', now: T0, retention: MINUTE });
      await sleep(100);
      expect(await store.getSession(session.sid)).not.toBeNull();
      clock.set(T0 + MINUTE);
      await until(async () => (await store.getSession(session.sid)) === null, 2000);
      expect(await store.revocationsSince(0)).toEqual([]);
    });
  });

  it('keeps the newest maxEvents events', async () => {
    const store = open({ maxEvents: 5 });
    const event = (at: number) => ({ type: 'login.failed' as const, sid: null, userId: null, at });
    await store.appendEvents([event(1), event(2), event(3)]);
    await store.appendEvents([4, 5, 6, 7, 8].map(event));
    const kept = await store.readEvents({ limit: 100 });
    expect(kept.map((e) => e.at)).toEqual([4, 5, 6, 7, 8]);
    await store.appendEvents([event(9)]);
    expect((await store.readEvents({ after: kept[0]!.id })).map((e) => e.at)).toEqual([5, 6, 7, 8, 9]);
    expect(await store.readEvents({ after: 'not-a-cursor' })).toEqual([]);
  });

  describe('two handles on one file', () => {
    it('hold the device limit together: 20 concurrent logins over both, limit 3, leave exactly 3 live', async () => {
      const a = open();
      const b = new SqliteStore({ path: a.path, heartbeatInterval: 50, pollInterval: 50 });
      toClose.push(b);
      const policy = { maxSessionsPerUser: 3 };
      const engineA = await engineOn(a, policy);
      const engineB = await engineOn(b, policy);
      const heardA = new Set<string>();
      const heardB = new Set<string>();
      const stopA = listen(a, { revoked: (e) => heardA.add(e.sid) });
      const stopB = listen(b, { revoked: (e) => heardB.add(e.sid) });
      try {
        const issued = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? engineA : engineB).createSession({ userId: 'erin' })));
        const live = await b.listSessions('erin', Date.now());
        expect(live).toHaveLength(3);
        const liveSids = new Set(live.map((s) => s.sid));
        const evicted = issued.map((t) => t.session.sid).filter((sid) => !liveSids.has(sid));
        expect(evicted).toHaveLength(17);
        // Each handle hears its own evictions at commit and the other's by polling.
        await until(() => heardA.size === 17 && heardB.size === 17, 2000);
        expect(heardA).toEqual(new Set(evicted));
        expect(heardB).toEqual(new Set(evicted));
      } finally {
        stopA();
        stopB();
      }
    });

    it('deliver each revocation once to the listeners of each handle', async () => {
      const a = open();
      const b = new SqliteStore({ path: a.path, heartbeatInterval: 50, pollInterval: 50 });
      toClose.push(b);
      const heardA: RevocationEntry[] = [];
      const heardB: RevocationEntry[] = [];
      const stopA = listen(a, { revoked: (e) => heardA.push(e) });
      const stopB = listen(b, { revoked: (e) => heardB.push(e) });
      try {
        const sids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const session = await create(a, record(`once-${i}`, Date.now()));
          await (i % 2 ? a : b).revokeSession({ sid: session.sid, reason: 'logout', now: Date.now(), retention: MINUTE });
          sids.push(session.sid);
        }
        await until(() => heardA.length >= 5 && heardB.length >= 5, 2000);
        await sleep(300); // several more polls: nothing is delivered again
        expect(heardA.map((e) => e.sid).sort()).toEqual([...sids].sort());
        expect(heardB.map((e) => e.sid).sort()).toEqual([...sids].sort());
      } finally {
        stopA();
        stopB();
      }
    });
  });

  it('stops heartbeats while the revocations table cannot be read, and reconnects when it can', async () => {
    const store = open();
    let beats = 0;
    let connects = 0;
    const heard: string[] = [];
    const stop = listen(store, { heartbeat: () => beats++, connected: () => connects++, revoked: (e) => heard.push(e.sid) });
    const raw = new Database(store.path);
    try {
      await until(() => connects === 1 && beats >= 2, 2000);
      // Another connection takes the table away (a stand-in for a file this process can no longer read).
      raw.exec('ALTER TABLE revocations RENAME TO revocations_away');
      await sleep(120); // the next poll fails
      const before = beats;
      await sleep(300);
      expect(beats).toBe(before);
      await expectCode(store.revocationsSince(0), 'store_unavailable');

      raw.exec('ALTER TABLE revocations_away RENAME TO revocations');
      // A revocation by another handle while the poll was failing is still delivered (the cursor held).
      const other = new SqliteStore({ path: store.path });
      toClose.push(other);
      const session = await create(other, record('away', Date.now()));
      await other.revokeSession({ sid: session.sid, reason: 'admin', now: Date.now(), retention: MINUTE });
      await until(() => connects === 2 && beats > before && heard.includes(session.sid), 2000);
    } finally {
      stop();
      raw.close();
    }
  });

  it('rejects every method with store_unavailable after close; close is idempotent', async () => {
    const store = open();
    const session = await create(store, record('closed', T0));
    await store.close();
    await store.close();
    const user = { id: 'u', username: 'u', passwordHash: 'h', createdAt: 1, updatedAt: 1 };
    const key = { kid: 'k', publicJwk: {}, privateJwk: {}, createdAt: 1, activatesAt: 1, retiresAt: null, expiresAt: null };
    const calls: (() => Promise<unknown>)[] = [
      () => store.createSession({ session: record('closed', T0), maxSessions: 3, onLimit: 'evict-oldest', now: T0, retention: MINUTE }),
      () => store.getSession(session.sid),
      () => store.listSessions('closed', T0),
      () =>
        store.rotateRefresh({
          sid: session.sid,
          presentedHash: session.refresh.hash,
          now: T0,
          next: { hash: 'h', successor: 's' },
          idleTimeout: HOUR,
          refreshGrace: 10_000,
          refreshHistory: 8,
          retention: MINUTE,
        }),
      () => store.revokeSession({ sid: session.sid, reason: 'admin', now: T0, retention: MINUTE }),
      () => store.revokeUserSessions({ userId: 'closed', reason: 'admin', now: T0, retention: MINUTE }),
      () => store.revocationsSince(0),
      () => store.appendEvents([{ type: 'login.failed', sid: null, userId: null, at: T0 }]),
      () => store.readEvents(),
      () => store.listKeys(),
      () => store.putKey(key),
      () => store.deleteKey('k'),
      () => store.createUser(user),
      () => store.getUserByUsername('u'),
      () => store.getUser('u'),
      () => store.setPasswordHash('u', 'h', T0),
      () => store.deleteUser('u'),
      () => store.listUsers(),
      () => store.hit('k', MINUTE, T0),
      () => store.ping(),
      () => store.sweep(T0),
    ];
    for (const call of calls) await expectCode(call(), 'store_unavailable');
  });
});
