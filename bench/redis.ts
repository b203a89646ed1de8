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
import { createClient } from 'redis';
import { Engine, type IssuedTokens, type SessionRecord } from '@tessera/core';
import { RedisStore } from '@tessera/redis';
import { Connection } from '../packages/redis/src/connection.js';
import { RedisServer, redisInstalled } from '../packages/redis/src/testing/redis-server.js';
import { rate } from './lib/load.js';
import { RETENTION, rotateInput, sessionRecord } from './lib/records.js';
import { measureRedisMemory } from './lib/redis-memory.js';
import { fmt, median } from './lib/stats.js';

const full = process.argv.includes('--full');
const ROUNDS = full ? 7 : 5;
const OPS = full ? 20_000 : 5_000;
const CONCURRENCY = 32;
const SESSIONS = 100_000;
const DEVICE_LIMIT = 10;

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
    const { fresh, refreshed, connectRedis: ordinary } = await measureRedisMemory(server.url, SESSIONS);

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
