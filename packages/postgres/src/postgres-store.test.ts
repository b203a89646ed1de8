/**
 * What the conformance suite cannot say about PostgreSQL in particular: locks across pools, NOTIFY at
 * commit, the sweep, the bounded event log, timeouts, configuration, and the listener's reconnects.
 */
import { TesseraError, type FeedListener, type RevocationEntry, type SessionEvent, type SessionRecord } from '@tessera/core';
import { expectCode, until } from '@tessera/core/conformance';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from './open-postgres-store.js';
import { PostgresStore, type PostgresStoreOptions } from './postgres-store.js';
import { createTestDatabase } from './testing/database.js';
import { freePort } from './testing/server.js';

const db = await createTestDatabase('store');
const HOUR = 3_600_000;
const T = Date.UTC(2031, 0, 1);

function record(sid: string, userId: string, now: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    sid,
    userId,
    device: { name: 'Laptop', kind: 'desktop' },
    ip: null,
    userAgent: null,
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + HOUR,
    absoluteExpiresAt: now + 24 * HOUR,
    refresh: { hash: `hash-${sid}`, previousHash: null, olderHashes: [], rotatedAt: now, generation: 0, successor: null },
    revokedAt: null,
    revokeReason: null,
    claims: null,
    ...overrides,
  };
}

function listen(store: PostgresStore, partial: Partial<FeedListener>): () => void {
  return store.feed.subscribe({ revoked: () => {}, heartbeat: () => {}, connected: () => {}, ...partial });
}

async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: db!.url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!db)('PostgresStore', () => {
  const opened: PostgresStore[] = [];
  let schemas = 0;
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  afterAll(() => db?.drop());

  async function open(options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
    const store = await PostgresStore.connect({ connectionString: db!.url, schema: `store_${++schemas}`, heartbeatInterval: 100, ...options });
    opened.push(store);
    return store;
  }
  async function reopen(store: PostgresStore, options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
    return open({ schema: store.schema, ...options });
  }

  it('holds the device limit when two pools (two nodes) admit the same user at once', async () => {
    const a = await open();
    const b = await reopen(a);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).createSession({ session: record(`sid-${i}`, 'zoe', T + i), maxSessions: 3, onLimit: 'evict-oldest', now: T + i, retention: HOUR }),
      ),
    );
    expect(await a.listSessions('zoe', T + 100)).toHaveLength(3);
    const evicted = results.flatMap((r) => r.evicted.map((s) => s.sid));
    const entries = await b.revocationsSince(0);
    expect(entries).toHaveLength(37);
    expect(new Set(entries.map((e) => e.sid))).toEqual(new Set(evicted));
    expect(new Set(evicted).size).toBe(37);
    for (const e of entries) expect(e.reason).toBe('evicted');
  });

  it('NOTIFYs at commit only: a transaction that rolls back announces nothing', async () => {
    const a = await open();
    const b = await reopen(a);
    const heard: RevocationEntry[] = [];
    let beats = 0;
    let connected = false;
    const stop = listen(b, { revoked: (e) => heard.push(e), heartbeat: () => beats++, connected: () => (connected = true) });
    try {
      await until(() => connected, 3000);
      const first = record('sid-first', 'yara', T);
      await a.createSession({ session: first, maxSessions: 1, onLimit: 'evict-oldest', now: T, retention: HOUR });
      // Evicts `first` (the NOTIFY is queued), then fails on the duplicate sid: everything rolls back.
      const duplicate = await a
        .createSession({ session: record('sid-first', 'yara', T + 1), maxSessions: 1, onLimit: 'evict-oldest', now: T + 1, retention: HOUR })
        .catch((e: unknown) => e);
      expect(duplicate).toBeInstanceOf(TesseraError);
      // Heartbeats sent after the rollback have arrived, so anything it had sent would have too.
      const after = beats;
      await until(() => beats >= after + 2, 3000);
      expect(heard).toEqual([]);
      expect((await a.getSession('sid-first'))?.revokedAt).toBeNull();
      expect(await a.revocationsSince(0)).toEqual([]);
      // A committed eviction is heard.
      await a.createSession({ session: record('sid-second', 'yara', T + 2), maxSessions: 1, onLimit: 'evict-oldest', now: T + 2, retention: HOUR });
      await until(() => heard.length === 1, 3000);
      expect(heard[0]).toEqual({ sid: 'sid-first', userId: 'yara', reason: 'evicted', at: T + 2 });
    } finally {
      stop();
    }
  });

  it('keeps the feeds of two schemas apart', async () => {
    const x = await open();
    const y = await open();
    const heard: RevocationEntry[] = [];
    let connected = false;
    const stop = listen(y, { revoked: (e) => heard.push(e), connected: () => (connected = true) });
    try {
      await until(() => connected, 3000);
      await x.createSession({ session: record('sid-x', 'xavier', T), maxSessions: 0, onLimit: 'evict-oldest', now: T, retention: HOUR });
      await x.revokeSession({ sid: 'sid-x', reason: 'admin', now: T + 1, retention: HOUR });
      await y.createSession({ session: record('sid-y', 'yves', T), maxSessions: 0, onLimit: 'evict-oldest', now: T, retention: HOUR });
      await y.revokeSession({ sid: 'sid-y', reason: 'admin', now: T + 1, retention: HOUR });
      await until(() => heard.length > 0, 3000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(heard.map((e) => e.sid)).toEqual(['sid-y']);
    } finally {
      stop();
    }
  });

  it('sweeps what is past retention, in small batches, and nothing earlier', async () => {
    const store = await open({ sweepBatch: 2, sweepInterval: 0 });
    const create = (s: SessionRecord) => store.createSession({ session: s, maxSessions: 0, onLimit: 'evict-oldest', now: T, retention: 100 });
    for (const sid of ['e1', 'e2', 'e3']) await create(record(sid, 'walt', T, { idleExpiresAt: T + 10 })); // purgeAt T+110
    for (const sid of ['r1', 'r2', 'live']) await create(record(sid, 'walt', T));
    for (const sid of ['r1', 'r2']) await store.revokeSession({ sid, reason: 'logout', now: T + 20, retention: 100 }); // purgeAt T+120
    await store.hit('login:walt', 50, T); // window ends T+50

    expect(await store.sweep(T + 49)).toBe(0);
    expect(await store.sweep(T + 50)).toBe(1);
    expect(await store.sweep(T + 109)).toBe(0);
    expect(await store.sweep(T + 110)).toBe(3);
    expect(await store.getSession('e1')).toBeNull();
    expect(await store.getSession('r1')).not.toBeNull();
    expect(await store.revocationsSince(0)).toHaveLength(2);
    expect(await store.sweep(T + 120)).toBe(4); // r1, r2 and their revocation entries
    expect(await store.revocationsSince(0)).toEqual([]);
    expect((await store.getSession('live'))?.sid).toBe('live');
    expect(await store.sweep(T + 121)).toBe(0);
  });

  it('keeps at most maxEvents events, oldest dropped, with increasing cursors', async () => {
    const store = await open({ maxEvents: 5 });
    const event = (at: number): SessionEvent => ({ type: 'session.created', sid: `s${at}`, userId: 'u', at });
    await store.appendEvents([event(1), event(2), event(3)]);
    await store.appendEvents([event(4), event(5), event(6)]);
    await store.appendEvents([event(7), event(8)]);
    const all = await store.readEvents({ limit: 100 });
    expect(all.map((e) => e.at)).toEqual([4, 5, 6, 7, 8]);
    const ids = all.map((e) => BigInt(e.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect((await store.readEvents({ after: all[1]!.id })).map((e) => e.at)).toEqual([6, 7, 8]);
    expect(await store.readEvents({ after: 'not-a-cursor' })).toEqual([]);
    expect(await store.readEvents({ after: '' })).toHaveLength(5);
    expect(await store.readEvents({ limit: 0 })).toEqual([]);
    const [count] = await sql<{ n: string }>(`SELECT count(*) AS n FROM ${store.schema}.events`);
    expect(Number(count!.n)).toBe(5);
  });

  it('appends from two nodes at once keep each batch together and never hand a reader a cursor that skips', async () => {
    const a = await open();
    const b = await reopen(a);
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? a : b).appendEvents([
          { type: 'session.created', sid: `s${i}`, userId: `u${i}`, at: i },
          { type: 'session.revoked', sid: `s${i}`, userId: `u${i}`, at: i, reason: 'logout' },
        ]),
      ),
    );
    const all = await a.readEvents({ limit: 1000 });
    expect(all).toHaveLength(60);
    for (let i = 0; i < 60; i += 2) {
      expect(all[i]).toMatchObject({ type: 'session.created', sid: all[i + 1]!.sid });
      expect(all[i + 1]).toMatchObject({ type: 'session.revoked', reason: 'logout' });
      expect(BigInt(all[i + 1]!.id)).toBe(BigInt(all[i]!.id) + 1n);
    }
  });

  it('answers input it cannot store (U+0000) with "not found", and stores any JSON claims and text as given', async () => {
    const store = await open();
    const nul = 'a\u0000b';
    expect(await store.getSession(nul)).toBeNull();
    expect(await store.listSessions(nul, T)).toEqual([]);
    expect(await store.revokeSession({ sid: nul, reason: 'admin', now: T, retention: HOUR })).toBeNull();
    expect(await store.revokeUserSessions({ userId: nul, reason: 'admin', now: T, retention: HOUR })).toEqual([]);
    expect(
      await store.rotateRefresh({
        sid: nul,
        presentedHash: 'x',
        now: T,
        next: { hash: 'y', successor: 'z' },
        idleTimeout: HOUR,
        refreshGrace: 10_000,
        refreshHistory: 8,
        retention: HOUR,
      }),
    ).toEqual({ outcome: 'invalid' });
    expect(await store.getUser(nul)).toBeNull();
    expect(await store.getUserByUsername(nul)).toBeNull();
    expect(await store.setPasswordHash(nul, 'h', T)).toBe(false);
    expect(await store.deleteUser(nul)).toBe(false);
    await store.deleteKey(nul);
    expect((await store.hit(nul, 1000, T)).count).toBe(1);
    await store.appendEvents([{ type: 'login.failed', sid: null, userId: null, at: T, userAgent: 'evil\u0000agent', reason: 'invalid_credentials' }]);
    expect((await store.readEvents()).at(-1)).toMatchObject({ type: 'login.failed', userAgent: 'evil\uFFFDagent' });

    const claims = { note: 'with \u0000 inside', ticket: '🎟️ ünïcödé', nested: { list: [1, 'two', null, true], deep: { x: 1.5 } }, quote: `'"\\` };
    const session = record('sid-claims', 'vera', T, { claims, ip: '2001:db8::1', userAgent: 'UA "quoted" \\ back' });
    await store.createSession({ session, maxSessions: 0, onLimit: 'evict-oldest', now: T, retention: HOUR });
    expect(await store.getSession('sid-claims')).toEqual(session);

    // Text PostgreSQL cannot hold (an unpaired surrogate) is stored as U+FFFD, never a failed write.
    const odd = record('sid-odd', 'vera', T, { userAgent: 'half \ud800 a pair', claims: { lone: '\udc00' } });
    await store.createSession({ session: odd, maxSessions: 0, onLimit: 'evict-oldest', now: T, retention: HOUR });
    expect(await store.getSession('sid-odd')).toEqual({ ...odd, userAgent: 'half \uFFFD a pair' });
    await store.appendEvents([{ type: 'login.failed', sid: null, userId: 'x\ud800', at: T, userAgent: '\udfff' }]);
    expect((await store.readEvents()).at(-1)).toMatchObject({ userId: 'x\uFFFD', userAgent: '\uFFFD' });
  });

  it('a statement that waits too long fails with store_unavailable in bounded time, and the store carries on', async () => {
    const store = await open({ statementTimeout: 300 });
    await store.createSession({ session: record('sid-t', 'tom', T), maxSessions: 3, onLimit: 'evict-oldest', now: T, retention: HOUR });
    const blocker = new pg.Client({ connectionString: db!.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE ${store.schema}.sessions IN ACCESS EXCLUSIVE MODE`);
      for (const call of [
        () => store.getSession('sid-t'),
        () => store.createSession({ session: record('sid-u', 'tom', T), maxSessions: 3, onLimit: 'evict-oldest', now: T, retention: HOUR }),
        () => store.revokeSession({ sid: 'sid-t', reason: 'admin', now: T, retention: HOUR }),
      ]) {
        const start = performance.now();
        await expectCode(call(), 'store_unavailable');
        expect(performance.now() - start).toBeLessThan(2000);
      }
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect((await store.getSession('sid-t'))?.revokedAt).toBeNull();
    expect((await store.revokeSession({ sid: 'sid-t', reason: 'admin', now: T, retention: HOUR }))?.changed).toBe(true);
  });

  it('a refused connection is store_unavailable at once; bad settings are invalid_config', async () => {
    const port = await freePort();
    const start = performance.now();
    await expectCode(PostgresStore.connect({ connectionString: `postgres://postgres@127.0.0.1:${port}/x`, connectTimeout: 1000 }), 'store_unavailable');
    expect(performance.now() - start).toBeLessThan(2000);
    await expectCode(PostgresStore.connect({ connectionString: 'mysql://localhost/x' }), 'invalid_config');
    await expectCode(PostgresStore.connect({ connectionString: db!.url, schema: 'Bad-Name' }), 'invalid_config');
    await expectCode(PostgresStore.connect({ connectionString: db!.url, poolSize: 0 }), 'invalid_config');
    await expectCode(PostgresStore.connect({ connectionString: db!.url, statementTimeout: 1.5 }), 'invalid_config');
    await expectCode(openPostgresStore('redis://localhost:6379'), 'invalid_config');
    await expectCode(openPostgresStore('not a url'), 'invalid_config');
  });

  it('openPostgresStore takes the schema from the URL and passes the rest to pg', async () => {
    const url = new URL(db!.url);
    url.searchParams.set('schema', 'from_url');
    url.searchParams.set('application_name', 'tessera-test');
    const store = await openPostgresStore(url.toString());
    opened.push(store);
    expect(store.kind).toBe('postgres');
    expect(store.schema).toBe('from_url');
    await store.ping();
    expect(await sql("SELECT 1 FROM pg_namespace WHERE nspname = 'from_url'")).toHaveLength(1);
  });

  it('the feed reconnects when its connection is killed, and tells subscribers to back-fill', async () => {
    const store = await open({ maxReconnectDelay: 300 });
    let connected = 0;
    let beats = 0;
    const stop = listen(store, { connected: () => connected++, heartbeat: () => beats++ });
    await until(() => connected === 1 && store.feed.listening, 3000);
    const killed = await sql<{ ok: boolean }>(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tessera feed'",
      [db!.name],
    );
    expect(killed).toHaveLength(1);
    await until(() => connected === 2 && store.feed.listening, 5000);
    const before = beats;
    await until(() => beats > before, 3000);
    stop();
    expect(store.feed.listening).toBe(false);
  });
});
