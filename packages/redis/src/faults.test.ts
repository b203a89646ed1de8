/**
 * Behaviour under faults, each its own test, against a real redis-server that the tests stop
 * (SIGSTOP), kill (SIGKILL) and restart on the same port, and a TCP proxy that cuts one node off.
 * The server persists every write (appendfsync always) so that a restart models "Redis is back",
 * not "Redis lost everything".
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Engine, TesseraError, type PolicyInput } from '@tessera/core';
import { expectCode, until } from '@tessera/core/conformance';
import { RedisStore } from './store.js';
import { decodeRecord } from './record.js';
import { TcpProxy } from './testing/proxy.js';
import { RedisServer, skipWithoutRedis } from './testing/redis-server.js';
import { freshPrefix } from './testing/targets.js';

const skip = skipWithoutRedis();
const COMMAND_TIMEOUT = 500;
/** What a failing call may take beyond its timeout on a busy 2-core machine. */
const SLACK = 1000;

describe.skipIf(skip)('faults', () => {
  let server: RedisServer;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    server = await RedisServer.start(['--appendonly', 'yes', '--appendfsync', 'always']);
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    // Every test leaves Redis running for the next one.
    server.resume();
    if (!(await alive())) await server.restart();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function alive(): Promise<boolean> {
    try {
      return server.cli('ping').trim() === 'PONG';
    } catch {
      return false;
    }
  }

  async function store(url = server.url, prefix = freshPrefix()): Promise<RedisStore> {
    const s = await RedisStore.connect({ url, prefix, heartbeatInterval: 100, commandTimeout: COMMAND_TIMEOUT, connectTimeout: 2000 });
    closers.push(() => s.close());
    return s;
  }

  async function engine(on: RedisStore, policy: PolicyInput = {}): Promise<Engine> {
    const e = await Engine.create({ store: on, issuer: 'https://tessera.test', audience: 'faults', policy: { feedStaleAfter: '1s', ...policy } });
    closers.push(() => e.close({ closeStore: false }));
    return e;
  }

  async function elapsed(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
    const started = performance.now();
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    return { ms: performance.now() - started, error };
  }

  function expectUnavailable(error: unknown): void {
    expect(error).toBeInstanceOf(TesseraError);
    expect((error as TesseraError).code).toBe('store_unavailable');
  }

  it('an operation in flight when Redis stops answering (SIGSTOP) fails with store_unavailable within the command timeout', async () => {
    const s = await store();
    const e = await engine(s);
    const t = await e.createSession({ userId: 'stopped' });
    server.pause();
    try {
      // 50 calls in flight at once, of every kind: each one fails on its own deadline, none hangs.
      const calls = [
        ...Array.from({ length: 20 }, () => e.createSession({ userId: 'stopped' })),
        ...Array.from({ length: 20 }, () => s.getSession(t.session.sid)),
        ...Array.from({ length: 10 }, () => e.refresh(t.refreshToken)),
      ];
      const results = await Promise.all(calls.map(elapsed));
      for (const { ms, error } of results) {
        expectUnavailable(error);
        expect(ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT - 50);
        expect(ms).toBeLessThan(COMMAND_TIMEOUT + SLACK);
      }
    } finally {
      server.resume();
    }
    // Redis answers again: the same store carries on.
    await until(async () => (await s.getSession(t.session.sid))?.sid === t.session.sid, 5000);
  });

  it('an operation in flight when Redis is killed fails with store_unavailable; calls while it is down fail at once; after a restart the same store works', async () => {
    const s = await store();
    const e = await engine(s);
    const t = await e.createSession({ userId: 'killed' });
    server.pause();
    const inFlight = elapsed(s.getSession(t.session.sid));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.kill();
    const first = await inFlight;
    expectUnavailable(first.error);
    expect(first.ms).toBeLessThan(COMMAND_TIMEOUT + SLACK);

    // Down: no offline queue, so no waiting for a Redis that may not come back.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const down = await elapsed(s.getSession(t.session.sid));
    expectUnavailable(down.error);
    expect(down.ms).toBeLessThan(COMMAND_TIMEOUT);
    await expectCode(e.createSession({ userId: 'killed' }), 'store_unavailable');
    await expectCode(s.ping(), 'store_unavailable');

    await server.restart();
    await until(() => s.ping().then(() => true, () => false), 5000);
    expect((await s.getSession(t.session.sid))?.userId).toBe('killed');
    await expect(e.refresh(t.refreshToken)).resolves.toMatchObject({ session: { sid: t.session.sid } });
  });

  it('nothing is half-written: limited logins cut short by a kill leave every invariant intact after the restart', async () => {
    const prefix = freshPrefix();
    const s = await store(server.url, prefix);
    const e = await engine(s, { maxSessionsPerUser: 3 });
    // Kill Redis once a few logins went through, with hundreds still in flight.
    let succeeded = 0;
    let fifth!: () => void;
    const fiveIn = new Promise<void>((resolve) => (fifth = resolve));
    const logins = Array.from({ length: 300 }, () =>
      e.createSession({ userId: 'burst' }).then(
        () => {
          if (++succeeded === 5) fifth();
          return 'ok';
        },
        (err: TesseraError) => err.code,
      ),
    );
    await fiveIn;
    await server.kill();
    const outcomes = await Promise.all(logins);
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThanOrEqual(5);
    expect(outcomes.filter((o) => o === 'store_unavailable').length).toBeGreaterThan(0);
    expect(outcomes.every((o) => o === 'ok' || o === 'store_unavailable')).toBe(true);
    await server.restart();
    await until(() => s.ping().then(() => true, () => false), 5000);

    const now = Date.now();
    const keys = server.cli('--scan', '--pattern', `${prefix}*:s:*`).split('\n').filter(Boolean);
    const records = keys.map((k) => decodeRecord(server.cli('get', k).replace(/\n$/, '')));
    const live = records.filter((r) => r.revokedAt === null);
    const revoked = records.filter((r) => r.revokedAt !== null);
    expect(records.length).toBeGreaterThanOrEqual(outcomes.filter((o) => o === 'ok').length);
    expect(live.length).toBeLessThanOrEqual(3);
    expect(revoked.every((r) => r.revokeReason === 'evicted')).toBe(true);
    // Every eviction that was written has its revocation entry; every live session is indexed.
    const entries = new Set((await s.revocationsSince(0)).map((x) => x.sid));
    for (const r of revoked) expect(entries.has(r.sid)).toBe(true);
    expect((await s.listSessions('burst', now)).map((r) => r.sid).sort()).toEqual(live.map((r) => r.sid).sort());
  });

  it('a silent feed makes verifiers fall back: check-store fails closed while Redis is down, reject refuses; both recover when it is back', async () => {
    const prefix = freshPrefix();
    const checking = await engine(await store(server.url, prefix));
    const strict = await engine(await store(server.url, prefix), { feedFallback: 'reject' });
    const t = await checking.createSession({ userId: 'silent' });
    await expect(checking.verify(t.accessToken)).resolves.toBeTruthy();
    await expect(strict.verify(t.accessToken)).resolves.toBeTruthy();

    await server.kill();
    await until(() => !checking.verifier.feedHealthy && !strict.verifier.feedHealthy, 3000);
    // Never accepted on trust while the feed is silent.
    await expectCode(checking.verify(t.accessToken), 'store_unavailable');
    await expectCode(strict.verify(t.accessToken), 'store_unavailable');

    await server.restart();
    await until(() => checking.verifier.feedHealthy && strict.verifier.feedHealthy, 5000);
    await expect(checking.verify(t.accessToken)).resolves.toMatchObject({ sessionId: t.session.sid });
    await expect(strict.verify(t.accessToken)).resolves.toMatchObject({ sessionId: t.session.sid });
    await expect(strict.createSession({ userId: 'silent' })).resolves.toBeTruthy();
  });

  it('a session revoked while a node was cut off from Redis is rejected by that node once it is back (back-fill, not the feed)', async () => {
    const proxy = await TcpProxy.start(server.port);
    closers.push(() => proxy.close());
    const prefix = freshPrefix();
    const remoteStore = await store(proxy.url, prefix);
    const remote = await engine(remoteStore);
    const local = await engine(await store(server.url, prefix));
    const t = await local.createSession({ userId: 'partitioned' });
    await expect(remote.verify(t.accessToken)).resolves.toBeTruthy();

    const heard: string[] = [];
    let reconnections = 0;
    const stop = remoteStore.feed.subscribe({ revoked: (e) => heard.push(e.sid), heartbeat: () => undefined, connected: () => reconnections++ });
    closers.push(async () => stop());
    await until(() => reconnections === 1, 1000);

    proxy.cut();
    await local.revoke(t.session.sid, 'admin');
    await expectCode(local.verify(t.accessToken), 'session_revoked');
    await until(() => !remote.verifier.feedHealthy, 3000);
    // Cut off and stale: the remote node cannot check the store, so it fails closed.
    await expectCode(remote.verify(t.accessToken), 'store_unavailable');

    proxy.restore();
    await until(() => remote.verifier.feedHealthy, 5000);
    expect(reconnections).toBeGreaterThanOrEqual(2);
    await expectCode(remote.verify(t.accessToken), 'session_revoked');
    // The feed message was published while the node was cut off: only the back-fill can have told it.
    expect(heard).not.toContain(t.session.sid);
    expect(remote.verifier.isRevoked(t.session.sid)).toBe(true);
  });
});
