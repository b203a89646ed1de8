/**
 * The Redis store, measured against the physical limit and against a peer, from one run on a
 * redis-server started for it (a free loopback port, no persistence):
 *
 * 1. Store operations per second at a fixed concurrency (create with a device limit, refresh,
 *    revoke), next to a trivial EVALSHA (`return 1`) round trip through the same client code at the
 *    same concurrency: the ratio says how close each operation is to one round trip. Then the same
 *    operations through the engine (which also signs an access token, Ed25519, per create/refresh).
 * 2. Redis memory per live session: the `used_memory` delta over 100,000 sessions (one per user,
 *    indexes included), fresh and after one refresh, next to connect-redis storing an ordinary
 *    express-session session (a Cookie and a passport user) for the same 100,000 users.
 *
 *   npm run bench:redis              (~30 s)
 *   npm run bench:redis -- --full    (more rounds and operations)
 *
 * Contenders run interleaved (A B C A B C ...) and are reported as medians and ratios from the same
 * run: absolute figures on a shared machine are noise, ratios are the result.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import session, { type SessionData } from 'express-session';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { Engine, hashSecret, newSecret, newSessionId, type IssuedTokens, type SessionRecord } from '@tessera/core';
import { RedisStore } from '@tessera/redis';
import { Connection } from '../packages/redis/src/connection.js';
import { RedisServer, redisInstalled } from '../packages/redis/src/testing/redis-server.js';

const full = process.argv.includes('--full');
const ROUNDS = full ? 7 : 5;
const OPS = full ? 20_000 : 5_000;
const CONCURRENCY = 32;
const SESSIONS = 100_000;
const DEVICE_LIMIT = 10;
const HOUR = 3_600_000;
const RETENTION = 11.5 * 60_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Runs `n` calls with `concurrency` in flight at all times; returns calls per second. */
async function rate(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
  return (n / (performance.now() - start)) * 1000;
}

function sessionRecord(userId: string, now: number): SessionRecord {
  return {
    sid: newSessionId(userId),
    userId,
    device: { name: 'Chrome on macOS', kind: 'desktop' },
    ip: '203.0.113.42',
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + 7 * 24 * HOUR,
    absoluteExpiresAt: now + 30 * 24 * HOUR,
    refresh: { hash: hashSecret(newSecret()), previousHash: null, olderHashes: [], rotatedAt: now, generation: 0, successor: null },
    revokedAt: null,
    revokeReason: null,
    claims: null,
  };
}

/** A successor as the engine seals one: `kid.iv.ciphertext+tag`, base64url. */
const successor = () => `${randomBytes(32).toString('base64url')}.${randomBytes(12).toString('base64url')}.${randomBytes(59).toString('base64url')}`;

interface Sample {
  rate: number;
  /** Redis CPU (user + system) per operation, in µs. */
  redis: number;
  /** This process' CPU per operation, in µs. */
  client: number;
}

async function redisCpu(admin: ReturnType<typeof createClient>): Promise<number> {
  const info = await admin.info('cpu');
  return (Number(/used_cpu_user:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)![1])) * 1e6;
}

/** `rate`, plus where the CPU went: on loopback a round trip costs microseconds, so CPU is the limit. */
async function sample(admin: ReturnType<typeof createClient>, n: number, fn: (i: number) => Promise<unknown>): Promise<Sample> {
  const redisBefore = await redisCpu(admin);
  const clientBefore = process.cpuUsage();
  const r = await rate(n, CONCURRENCY, fn);
  const client = process.cpuUsage(clientBefore);
  return { rate: r, redis: ((await redisCpu(admin)) - redisBefore) / n, client: (client.user + client.system) / n };
}

async function usedMemory(admin: ReturnType<typeof createClient>): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function main() {
  if (!redisInstalled()) {
    console.error('redis-server is not installed: nothing to measure.');
    process.exitCode = 1;
    return;
  }
  const server = await RedisServer.start();
  const admin = createClient({ url: server.url });
  await admin.connect();
  try {
    const version = /redis_version:(\S+)/.exec(await admin.info('server'))![1];

    // --- 1. operations per second ---------------------------------------------------------------
    const store = await RedisStore.connect({ url: server.url, prefix: 'bench:' });
    const engine = await Engine.create({ store, issuer: 'https://bench.test', audience: 'bench', policy: { maxSessionsPerUser: DEVICE_LIMIT } });
    // The physical limit: one EVALSHA round trip through the same connection code (its deadline,
    // its error mapping), on a connection of its own like the store's.
    const raw = await Connection.open({ url: server.url }, { commandTimeout: 2000, connectTimeout: 5000 });
    const sha = await admin.scriptLoad('return 1');
    // Every user is at the device limit when a round starts, so each measured create weighs ten live
    // records and evicts one (revoked, announced): the heaviest create there is. Five creates per
    // user per round; refresh and revoke then take those five; a top-up (not measured) restores the limit.
    const users = OPS / 5;
    const userOf = (kind: string, i: number) => `${kind}-u${i % users}`;
    const rotateInput = (record: SessionRecord, now: number) => ({
      sid: record.sid,
      presentedHash: record.refresh.hash,
      now,
      next: { hash: hashSecret(newSecret()), successor: successor() },
      idleTimeout: 7 * 24 * HOUR,
      refreshGrace: 10_000,
      refreshHistory: 8,
      retention: RETENTION,
    });
    const storeCreate = (userId: string, now: number) => {
      const record = sessionRecord(userId, now);
      return store.createSession({ session: record, maxSessions: DEVICE_LIMIT, onLimit: 'evict-oldest', now, retention: RETENTION }).then(() => record);
    };
    await rate(users * DEVICE_LIMIT, CONCURRENCY, (i) => storeCreate(userOf('s', i), Date.now()));
    await rate(users * DEVICE_LIMIT, CONCURRENCY, (i) => engine.createSession({ userId: userOf('e', i) }));

    const ops = { evalsha: [] as Sample[], create: [] as Sample[], refresh: [] as Sample[], revoke: [] as Sample[] };
    const engineOps = { create: [] as Sample[], refresh: [] as Sample[], revoke: [] as Sample[] };
    for (let round = 0; round < ROUNDS; round++) {
      ops.evalsha.push(await sample(admin, OPS, (i) => raw.command(`k${i % 64}`, ['EVALSHA', sha, '1', `k${i % 64}`])));

      const records: SessionRecord[] = new Array(OPS);
      ops.create.push(await sample(admin, OPS, async (i) => (records[i] = await storeCreate(userOf('s', i), Date.now()))));
      ops.refresh.push(await sample(admin, OPS, (i) => store.rotateRefresh(rotateInput(records[i]!, Date.now()))));
      ops.revoke.push(await sample(admin, OPS, (i) => store.revokeSession({ sid: records[i]!.sid, reason: 'logout', now: Date.now(), retention: RETENTION })));
      await rate(OPS, CONCURRENCY, (i) => storeCreate(userOf('s', i), Date.now()));

      const issued: IssuedTokens[] = new Array(OPS);
      engineOps.create.push(await sample(admin, OPS, async (i) => (issued[i] = await engine.createSession({ userId: userOf('e', i) }))));
      engineOps.refresh.push(await sample(admin, OPS, (i) => engine.refresh(issued[i]!.refreshToken)));
      engineOps.revoke.push(await sample(admin, OPS, (i) => engine.revoke(issued[i]!.session.sid)));
      await rate(OPS, CONCURRENCY, (i) => engine.createSession({ userId: userOf('e', i) }));
    }
    await engine.close();
    await raw.close();

    // --- 2. memory per live session -------------------------------------------------------------
    await admin.flushAll();
    const memory = await RedisStore.connect({ url: server.url, prefix: 'mem:' });
    const now = Date.now();
    // Warm up (scripts cached, structures allocated), then start counting from an empty keyspace.
    const warm = sessionRecord('warm-up', now);
    await memory.createSession({ session: warm, maxSessions: DEVICE_LIMIT, onLimit: 'evict-oldest', now, retention: RETENTION });
    await admin.flushAll();
    const before = await usedMemory(admin);
    const live = Array.from({ length: SESSIONS }, (_, i) => sessionRecord(`user-${i}`, now));
    await rate(SESSIONS, 64, (i) => memory.createSession({ session: live[i]!, maxSessions: DEVICE_LIMIT, onLimit: 'evict-oldest', now, retention: RETENTION }));
    const fresh = ((await usedMemory(admin)) - before) / SESSIONS;
    await rate(SESSIONS, 64, (i) =>
      memory.rotateRefresh({
        sid: live[i]!.sid,
        presentedHash: live[i]!.refresh.hash,
        now: now + 1000,
        next: { hash: hashSecret(newSecret()), successor: successor() },
        idleTimeout: 7 * 24 * HOUR,
        refreshGrace: 10_000,
        refreshHistory: 8,
        retention: RETENTION,
      }),
    );
    const refreshed = ((await usedMemory(admin)) - before) / SESSIONS;
    await memory.close();

    await admin.flushAll();
    const client = createClient({ url: server.url });
    await client.connect();
    const peer = new ConnectRedisStore({ client, prefix: 'sess:' });
    const peerBefore = await usedMemory(admin);
    await rate(SESSIONS, 64, async (i) => {
      // express-session's own shapes: a 24-byte uid-safe id, its Cookie, a passport user. (A Session
      // object serialises to the same JSON: its req and id are not enumerable.)
      const sid = randomBytes(24).toString('base64url');
      const cookie = new session.Cookie();
      Object.assign(cookie, { maxAge: 7 * 24 * HOUR, httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
      const data: SessionData & { passport: { user: string } } = { cookie, passport: { user: `user-${i}` } };
      await peer.set(sid, data);
    });
    const ordinary = ((await usedMemory(admin)) - peerBefore) / SESSIONS;
    await client.close();

    // --- report ---------------------------------------------------------------------------------
    const limit = median(ops.evalsha.map((x) => x.rate));
    const row = (name: string, samples: Sample[]) => {
      const r = median(samples.map((x) => x.rate));
      const redis = median(samples.map((x) => x.redis));
      const client = median(samples.map((x) => x.client));
      console.log(`| ${name} | ${fmt(r)} | ${(r / limit).toFixed(2)} | ${redis.toFixed(1)} | ${client.toFixed(1)} |`);
    };
    console.log(`\n## @tessera/redis on Redis ${version}, loopback, ${CONCURRENCY} calls in flight (${ROUNDS} interleaved rounds of ${fmt(OPS)}; medians)\n`);
    console.log('| operation | ops/s | × EVALSHA `return 1` | Redis CPU µs/op | client CPU µs/op |\n|---|---:|---:|---:|---:|');
    row('EVALSHA `return 1` (one round trip)', ops.evalsha);
    row(`store.createSession (device limit ${DEVICE_LIMIT}, at the limit: evicts one)`, ops.create);
    row('store.rotateRefresh', ops.refresh);
    row('store.revokeSession', ops.revoke);
    row('engine.createSession (+ Ed25519 access token)', engineOps.create);
    row('engine.refresh (+ Ed25519 access token)', engineOps.refresh);
    row('engine.revoke', engineOps.revoke);
    console.log(
      '\nEach operation is one EVALSHA (one round trip). On loopback a round trip costs microseconds and 32 calls in flight are pipelined, so the ratio is the CPU an operation costs (the Lua script in Redis, the record codec and the engine in the client), not extra round trips.',
    );
    console.log(`\n## Redis memory per live session (\`used_memory\` delta over ${fmt(SESSIONS)} sessions, one per user)\n`);
    console.log('| what | bytes/session | × connect-redis |\n|---|---:|---:|');
    console.log(`| Tessera, fresh session (record + user index) | ${fmt(fresh)} | ${(fresh / ordinary).toFixed(2)} |`);
    console.log(`| Tessera, after one refresh (+ previous hash, sealed successor) | ${fmt(refreshed)} | ${(refreshed / ordinary).toFixed(2)} |`);
    console.log(`| connect-redis, express-session Cookie + passport user | ${fmt(ordinary)} | 1.00 |`);
    console.log(
      '\nA Tessera record also holds the device, IP, user agent, refresh-hash history and expiry times; its user index is what makes the device limit and "sign out everywhere" one atomic script.\n',
    );
  } finally {
    await admin.close().catch(() => undefined);
    await server.stop();
  }
}

await main();
