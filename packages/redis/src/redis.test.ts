/**
 * What the conformance suite cannot see from outside: the key layout, TTLs derived from the caller's
 * clock, the Lua mirrors of core's decisions at the edges (tie-breaks, large numbers), script
 * reloading, the feed's tolerance of noise, and URL parsing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import {
  TesseraError,
  decideRotation,
  hashSecret,
  planAdmission,
  userShard,
  type RotateInput,
  type SessionRecord,
} from '@tessera/core';
import { parseRedisUrl, openRedisStore } from './open.js';
import { decodeRecord, encodeRecord } from './record.js';
import { RedisStore } from './store.js';
import { RedisServer, freePort, skipWithoutRedis } from './testing/redis-server.js';
import { freshPrefix } from './testing/targets.js';

const skip = skipWithoutRedis();
const HOUR = 3_600_000;
const RETENTION = 11.5 * 60_000;

/** A session record as the engine makes one, for a sid that starts with the user's shard. */
function record(userId: string, rest: string, at: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    sid: (userShard(userId) + rest).slice(0, 26).padEnd(26, 'A'),
    userId,
    device: { name: 'Phone', kind: 'mobile' },
    ip: null,
    userAgent: null,
    createdAt: at,
    lastSeenAt: at,
    idleExpiresAt: at + HOUR,
    absoluteExpiresAt: at + 24 * HOUR,
    refresh: { hash: hashSecret(`${rest}-0`), previousHash: null, olderHashes: [], rotatedAt: at, generation: 0, successor: null },
    revokedAt: null,
    revokeReason: null,
    claims: null,
    ...overrides,
  };
}

describe('the record format', () => {
  it('round-trips every field exactly, including nulls, empty arrays, unicode and large times', () => {
    const at = 4_000_000_000_000_123;
    const plain = record('ünïcødé user "with" \\ / quotes', 'xyz', at);
    expect(decodeRecord(encodeRecord(plain))).toEqual(plain);
    const full = record('u', 'abc', at, {
      ip: '2001:db8::1',
      userAgent: 'UA/1 (x; y) \u2028',
      claims: { role: 'admin', tags: [], nested: { a: [1, 2.5, null], b: {} }, big: 9_007_199_254_740_991 },
      revokedAt: at + 1,
      revokeReason: 'reuse_detected',
      refresh: { hash: 'h1', previousHash: 'h0', olderHashes: ['a', 'b'], rotatedAt: at + 0.5, generation: 7, successor: 'kid.iv.body' },
    });
    expect(decodeRecord(encodeRecord(full))).toEqual(full);
  });

  it('refuses what could break the format rather than store it', () => {
    expect(() => encodeRecord(record('bad\u001fuser', 'abc', 1))).toThrow(TesseraError);
    expect(() => encodeRecord(record('u', 'abc', Number.NaN))).toThrow(TesseraError);
    expect(() => encodeRecord({ ...record('u', 'abc', 1), refresh: { ...record('u', 'abc', 1).refresh, hash: 'a,b' } })).toThrow(TesseraError);
  });
});

describe('TESSERA_STORE URLs', () => {
  it('parses single-server and cluster URLs', () => {
    expect(parseRedisUrl('redis://localhost:6380')).toEqual({ url: 'redis://localhost:6380' });
    expect(parseRedisUrl('rediss://user:pw@redis.example.com:6380/2')).toEqual({ url: 'rediss://user:pw@redis.example.com:6380/2' });
    expect(parseRedisUrl('redis-cluster://10.0.0.1:7000,10.0.0.2:7001')).toEqual({ cluster: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7001'] });
    expect(parseRedisUrl('redis-cluster://u:p@a:1,[::1]:2')).toEqual({ cluster: ['redis://u:p@a:1', 'redis://u:p@[::1]:2'] });
  });

  it('rejects anything else with invalid_config, without echoing a password', () => {
    for (const bad of ['', 'http://x:1', 'redis-cluster://', 'redis-cluster://a', 'redis-cluster://a:1,b', 'redis-cluster://a:99999', 'redis://:secret@[bad']) {
      const error = (() => {
        try {
          parseRedisUrl(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(TesseraError);
      expect((error as TesseraError).code).toBe('invalid_config');
      expect((error as TesseraError).message).not.toContain('secret');
    }
  });
});

describe.skipIf(skip)('RedisStore specifics on one redis-server', () => {
  let server: RedisServer;
  let admin: ReturnType<typeof createClient>;
  const stores: RedisStore[] = [];

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = createClient({ url: server.url });
    await admin.connect();
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await admin?.close();
    await server?.stop();
  });

  async function open(options: { maxEvents?: number } = {}) {
    const prefix = freshPrefix();
    const store = await RedisStore.connect({ url: server.url, prefix, heartbeatInterval: 100, ...options });
    stores.push(store);
    return { store, prefix };
  }

  it('is kind "redis", and openRedisStore opens the same', async () => {
    const { store } = await open();
    expect(store.kind).toBe('redis');
    const other = await openRedisStore(server.url, { prefix: freshPrefix() });
    expect(other.kind).toBe('redis');
    await other.close();
  });

  it('keeps all keys of a user under one hash tag, and gives every session key a TTL from the caller\'s clock', async () => {
    const { store, prefix } = await open();
    // A clock ten years ahead of the server's: TTLs must count from `now`, not from Redis' clock.
    const now = Date.now() + 10 * 365 * 24 * HOUR;
    const a = record('tina', 'a', now);
    const b = record('tina', 'b', now);
    await store.createSession({ session: a, maxSessions: 10, onLimit: 'evict-oldest', now, retention: RETENTION });
    await store.createSession({ session: b, maxSessions: 10, onLimit: 'evict-oldest', now, retention: RETENTION });
    await store.revokeSession({ sid: b.sid, reason: 'logout', now, retention: RETENTION });
    await store.hit('login:tina', 60_000, now);

    const keys = await admin.keys(`${prefix}*`);
    const tag = `{b:${userShard('tina')[0]}}`;
    const sessionKeys = keys.filter((k) => k.includes(':s:') || k.includes(':u:tina') || k.endsWith(':r'));
    expect(sessionKeys.sort()).toEqual([`${prefix}${tag}:r`, `${prefix}${tag}:s:${a.sid}`, `${prefix}${tag}:s:${b.sid}`, `${prefix}${tag}:u:tina`].sort());
    for (const key of sessionKeys) expect(key.slice(key.indexOf('{'), key.indexOf('}') + 1)).toBe(tag);

    const ttl = async (key: string) => admin.pTTL(key);
    // Live: until idle expiry + retention. Revoked: retention from the revocation.
    expect(await ttl(`${prefix}${tag}:s:${a.sid}`)).toBeGreaterThan(HOUR + RETENTION - 5000);
    expect(await ttl(`${prefix}${tag}:s:${a.sid}`)).toBeLessThanOrEqual(HOUR + RETENTION);
    expect(await ttl(`${prefix}${tag}:s:${b.sid}`)).toBeGreaterThan(RETENTION - 5000);
    expect(await ttl(`${prefix}${tag}:s:${b.sid}`)).toBeLessThanOrEqual(RETENTION);
    // The index outlives its last live member; the recent revocations their retention.
    expect(await ttl(`${prefix}${tag}:u:tina`)).toBeGreaterThan(HOUR - 5000);
    expect(await ttl(`${prefix}${tag}:u:tina`)).toBeLessThanOrEqual(HOUR);
    expect(await ttl(`${prefix}${tag}:r`)).toBeGreaterThan(RETENTION - 5000);
    expect(await ttl(`${prefix}hit:login:tina`)).toBeGreaterThan(55_000);
    expect(await ttl(`${prefix}hit:login:tina`)).toBeLessThanOrEqual(60_000);
    // The index holds live sessions only (the revoked one left it), scored by the end of their liveness.
    expect(await admin.zRangeWithScores(`${prefix}${tag}:u:tina`, 0, -1)).toEqual([{ value: `${now}:${now}:${a.sid}`, score: a.idleExpiresAt }]);
  });

  it('evicts exactly as planAdmission does on full ties (lastSeenAt and createdAt equal: by sid, in byte order)', async () => {
    const { store } = await open();
    const now = Date.now();
    // Sids that sort differently by bytes than by any locale collation: '0' < 'B' < '_' < 'a'.
    const existing = ['aaaa', 'Bbbb', '_ccc', '0ddd', 'Zeee'].map((rest) => record('tie', rest, now - 1000));
    for (const s of existing) await store.createSession({ session: s, maxSessions: 0, onLimit: 'evict-oldest', now, retention: RETENTION });
    const expected = planAdmission(existing, now, 3, 'evict-oldest');
    expect(expected).not.toBe('reject');
    const result = await store.createSession({ session: record('tie', 'new', now), maxSessions: 3, onLimit: 'evict-oldest', now, retention: RETENTION });
    expect(result.evicted.map((s) => s.sid)).toEqual((expected as SessionRecord[]).map((s) => s.sid));
    expect(result.evicted.map((s) => s.sid.slice(4, 8))).toEqual(['0ddd', 'Bbbb', 'Zeee']);
    expect(result.evicted.every((s) => s.revokeReason === 'evicted' && s.revokedAt === now)).toBe(true);
  });

  it('decides rotations exactly as decideRotation does, with times near 2^53', async () => {
    const { store } = await open();
    const at = 4_000_000_000_000_123;
    let held = record('rho', 'rot', at);
    await store.createSession({ session: held, maxSessions: 0, onLimit: 'evict-oldest', now: at, retention: RETENTION });
    const input = (presented: string, now: number, n: number): RotateInput => ({
      sid: held.sid,
      presentedHash: hashSecret(presented),
      now,
      next: { hash: hashSecret(`rot-${n}`), successor: `kid.iv${n}.body${n}` },
      idleTimeout: HOUR,
      refreshGrace: 10_000,
      refreshHistory: 3,
      retention: RETENTION,
    });
    // current, current, previous within grace, never issued, current, current (history of 3 overflows),
    // a superseded one (reuse), then the current one of a revoked session.
    const steps: [string, number][] = [
      ['rot-0', at + 1000],
      ['rot-1', at + 2000],
      ['rot-1', at + 2500],
      ['never-issued', at + 3000],
      ['rot-2', at + 4000],
      ['rot-3', at + 5000],
      ['rot-1', at + 6000],
      ['rot-4', at + 7000],
    ];
    let n = 1;
    const outcomes: string[] = [];
    for (const [presented, now] of steps) {
      const step = input(presented, now, n);
      const expected = decideRotation(held, step);
      const actual = await store.rotateRefresh(step);
      expect(actual).toEqual(expected.result);
      outcomes.push(actual.outcome);
      if (expected.write) held = expected.write;
      if (actual.outcome === 'rotated') n++;
      expect(await store.getSession(held.sid)).toEqual(held);
    }
    expect(outcomes).toEqual(['rotated', 'rotated', 'grace', 'invalid', 'rotated', 'rotated', 'reuse', 'revoked']);
    expect(held.revokeReason).toBe('reuse_detected');
  });

  it('reloads its scripts after SCRIPT FLUSH, transparently', async () => {
    const { store } = await open();
    const now = Date.now();
    const s = record('flush', 'fl', now);
    await store.createSession({ session: s, maxSessions: 3, onLimit: 'evict-oldest', now, retention: RETENTION });
    await admin.sendCommand(['SCRIPT', 'FLUSH']);
    const rotated = await store.rotateRefresh({
      sid: s.sid,
      presentedHash: hashSecret('fl-0'),
      now: now + 1,
      next: { hash: hashSecret('fl-1'), successor: 'k.i.b' },
      idleTimeout: HOUR,
      refreshGrace: 10_000,
      refreshHistory: 8,
      retention: RETENTION,
    });
    expect(rotated.outcome).toBe('rotated');
    await admin.sendCommand(['SCRIPT', 'FLUSH']);
    expect(await store.revokeSession({ sid: s.sid, reason: 'logout', now: now + 2, retention: RETENTION })).toMatchObject({ changed: true });
    await admin.sendCommand(['SCRIPT', 'FLUSH']);
    expect(await store.listSessions('flush', now + 3)).toEqual([]);
  });

  it('bounds the event log (MAXLEN ~) and treats unknown cursors as positions with nothing after them', async () => {
    const { store, prefix } = await open({ maxEvents: 100 });
    const at = Date.now();
    for (let i = 0; i < 10; i++) {
      await store.appendEvents(Array.from({ length: 100 }, (_, j) => ({ type: 'login.failed' as const, sid: null, userId: null, at: at + i * 100 + j })));
    }
    const length = await admin.xLen(`${prefix}events`);
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(300);
    const events = await store.readEvents({ limit: 10_000 });
    expect(events.at(-1)!.at).toBe(at + 999);
    expect(await store.readEvents({ after: 'not-a-cursor' })).toEqual([]);
    expect(await store.readEvents({ after: '1-0', limit: 0 })).toEqual([]);
  });

  it('reads recent revocations across all 64 buckets, oldest first, up to the limit', async () => {
    const { store } = await open();
    const now = Date.now();
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    for (const [i, userId] of users.entries()) {
      const s = record(userId, `rv${i}`, now);
      await store.createSession({ session: s, maxSessions: 0, onLimit: 'evict-oldest', now, retention: RETENTION });
      await store.revokeSession({ sid: s.sid, reason: 'admin', now: now + 40 - i, retention: RETENTION });
    }
    const all = await store.revocationsSince(now);
    expect(all).toHaveLength(40);
    expect(new Set(users.map((u) => userShard(u)[0])).size).toBeGreaterThan(10);
    expect(all.map((e) => e.at)).toEqual([...all.map((e) => e.at)].sort((a, b) => a - b));
    expect(all[0]).toMatchObject({ userId: 'user-39', reason: 'admin', at: now + 1 });
    expect(await store.revocationsSince(now, 5)).toEqual(all.slice(0, 5));
    expect(await store.revocationsSince(now + 35)).toEqual(all.filter((e) => e.at >= now + 35));
  });

  it('ignores noise on the feed channel and keeps delivering', async () => {
    const { store, prefix } = await open();
    const revoked: unknown[] = [];
    let beats = 0;
    let connected = false;
    const stop = store.feed.subscribe({ revoked: (e) => revoked.push(e), heartbeat: () => beats++, connected: () => (connected = true) });
    try {
      await expect.poll(() => connected, { timeout: 3000 }).toBe(true);
      for (const noise of ['', 'nonsense', '{}', '[{"sid":1}]', '[{"sid":"x","userId":"u","reason":"bogus","at":1}]', '[null]']) {
        await admin.publish(`${prefix}feed`, noise);
      }
      await admin.publish(`${prefix}feed`, JSON.stringify([{ sid: 'x', userId: 'u', reason: 'admin', at: 5 }]));
      await expect.poll(() => revoked.length, { timeout: 3000 }).toBe(1);
      const before = beats;
      await expect.poll(() => beats > before, { timeout: 3000 }).toBe(true);
      expect(revoked).toEqual([{ sid: 'x', userId: 'u', reason: 'admin', at: 5 }]);
    } finally {
      stop();
    }
  });

  it('fails to connect to nothing with store_unavailable, within its connect timeout', async () => {
    const port = await freePort();
    const started = performance.now();
    const error = await RedisStore.connect({ url: `redis://127.0.0.1:${port}`, connectTimeout: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TesseraError);
    expect((error as TesseraError).code).toBe('store_unavailable');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refuses bad options with invalid_config', async () => {
    for (const options of [{ url: server.url, prefix: '{x}' }, { url: server.url, commandTimeout: 0 }, { url: '' }, { cluster: [] as string[] }]) {
      const error = await RedisStore.connect(options).catch((e: unknown) => e);
      expect((error as TesseraError).code).toBe('invalid_config');
    }
  });
});
