/**
 * Part 2: session operations per second — login with a device limit (every login evicts the user's
 * least recently seen session: the heaviest login there is), refresh (rotation) and revoke — through
 * the engine on each store, next to that store's raw round trip at the same concurrency, from one
 * run of one process:
 *
 *   memory          a resolved promise
 *   SQLite          `SELECT 1` (better-sqlite3, a second handle on the same file)
 *   Redis           EVALSHA of `return 1` (the store's connection code, its own connection)
 *   Redis Cluster   EVALSHA of `return 1` with a key, routed like the store's scripts
 *   PostgreSQL      `SELECT 1` through the store's pool
 *
 * Rounds interleave backends and operations (A B C … A B C …) and the tables show medians; the ratio
 * to the raw round trip says how much of an operation is the store's physical limit and how much is
 * work (signing an Ed25519 access token, hashing, the script or transaction, the event log).
 *
 * It starts its own redis-server and Redis Cluster (3 masters, no replicas), and creates (and drops)
 * its own PostgreSQL database on the local server (TESSERA_BENCH_PG or TESSERA_TEST_PG as the admin
 * URL, else postgres://postgres@127.0.0.1:5432/postgres); without a PostgreSQL server that backend is
 * skipped, and said so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Engine, MemoryStore, type IssuedTokens, type SessionStore } from '@tessera/core';
import { SqliteStore } from '@tessera/sqlite';
import { RedisStore } from '@tessera/redis';
import { PostgresStore } from '@tessera/postgres';
import { Connection } from '../../packages/redis/src/connection.js';
import { RedisClusterServers, RedisServer } from '../../packages/redis/src/testing/redis-server.js';
import { createTestDatabase, type TestDatabase } from '../../packages/postgres/src/testing/database.js';
import { measure, rate, type Measurement } from '../lib/load.js';
import { onInterrupt } from '../lib/processes.js';
import { RETENTION, sessionRecord } from '../lib/records.js';
import { median } from '../lib/stats.js';

export const BACKENDS = ['memory', 'sqlite', 'redis', 'redis-cluster', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];
export const BACKEND_LABELS: Record<Backend, string> = {
  memory: 'memory',
  sqlite: 'SQLite',
  redis: 'Redis',
  'redis-cluster': 'Redis Cluster (3 masters)',
  postgres: 'PostgreSQL',
};
export const RAW_LABELS: Record<Backend, string> = {
  memory: 'a resolved promise',
  sqlite: '`SELECT 1`',
  redis: 'EVALSHA `return 1`',
  'redis-cluster': 'EVALSHA `return 1`, with a key',
  postgres: '`SELECT 1`',
};
const OPERATIONS = ['raw', 'login', 'refresh', 'revoke'] as const;
type Operation = (typeof OPERATIONS)[number];

export interface OperationsSettings {
  concurrency: number;
  seconds: number;
  rounds: number;
  users: number;
  deviceLimit: number;
  pgPool: number;
}

export const operationsSettings = (full: boolean): OperationsSettings =>
  full
    ? { concurrency: 32, seconds: 3, rounds: 5, users: 5000, deviceLimit: 3, pgPool: 10 }
    : { concurrency: 32, seconds: 1, rounds: 3, users: 5000, deviceLimit: 3, pgPool: 10 };

export interface OperationResult {
  opsPerSecond: number;
  /** Per round. */
  rounds: number[];
  p50: number;
  p99: number;
  clientCpu: number;
}

export interface OperationsRow {
  backend: Backend;
  /** The backend's server version, where there is one. */
  version: string;
  results: Record<Operation, OperationResult>;
}

export interface OperationsData {
  settings: OperationsSettings;
  rows: OperationsRow[];
  /** Backends that could not be measured, and why. */
  skipped: { backend: Backend; reason: string }[];
}

interface Subject {
  backend: Backend;
  version: string;
  engine: Engine;
  raw: () => Promise<unknown>;
  close(): Promise<void>;
}

const ISSUER = 'https://auth.bench.test';
const AUDIENCE = 'bench-api';

async function engineOn(store: SessionStore, settings: OperationsSettings): Promise<Engine> {
  // No throttling of failed refreshes: none fail here, and the counter would be one more write.
  return Engine.create({ store, issuer: ISSUER, audience: AUDIENCE, policy: { maxSessionsPerUser: settings.deviceLimit, onLimit: 'evict-oldest' } });
}

export async function runOperations(full: boolean, log: (line: string) => void): Promise<OperationsData> {
  const settings = operationsSettings(full);
  const subjects: Subject[] = [];
  const skipped: OperationsData['skipped'] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    // Engines and clients first, then the servers and files they used.
    for (const subject of subjects.splice(0)) {
      await subject.close().catch(() => undefined);
      await subject.engine.close().catch(() => undefined);
    }
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  };
  const removeInterrupt = onInterrupt(cleanup);
  try {
    // memory
    subjects.push({ backend: 'memory', version: '', engine: await engineOn(new MemoryStore(), settings), raw: () => Promise.resolve(), close: async () => undefined });

    // SQLite: a temporary file, and a second handle on it for the raw round trip.
    const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-sqlite-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const sqlitePath = join(dir, 'bench.db');
    const sqliteEngine = await engineOn(new SqliteStore({ path: sqlitePath }), settings);
    const db = new Database(sqlitePath);
    const select1 = db.prepare('SELECT 1');
    subjects.push({
      backend: 'sqlite',
      version: (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v,
      engine: sqliteEngine,
      raw: async () => select1.get(),
      close: async () => void db.close(),
    });

    // Redis
    const redis = await RedisServer.start();
    cleanups.push(() => redis.stop());
    const redisEngine = await engineOn(await RedisStore.connect({ url: redis.url }), settings);
    const redisRaw = await Connection.open({ url: redis.url }, { commandTimeout: 2000, connectTimeout: 5000 });
    const sha = redis.cli('script', 'load', 'return 1').trim();
    let n = 0;
    subjects.push({
      backend: 'redis',
      version: /redis_version:(\S+)/.exec(redis.cli('info', 'server'))?.[1] ?? '',
      engine: redisEngine,
      raw: () => {
        const key = `k${n++ % 64}`;
        return redisRaw.command(key, ['EVALSHA', sha, '1', key]);
      },
      close: () => redisRaw.close(),
    });

    // Redis Cluster
    log('starting a Redis Cluster (3 masters)');
    const cluster = await RedisClusterServers.start({ masters: 3, replicas: 0 });
    cleanups.push(() => cluster.stop());
    const clusterEngine = await engineOn(await RedisStore.connect({ cluster: cluster.urls }), settings);
    const clusterRaw = await Connection.open({ cluster: cluster.urls }, { commandTimeout: 2000, connectTimeout: 5000 });
    for (const node of cluster.nodes) node.cli('script', 'load', 'return 1');
    let m = 0;
    subjects.push({
      backend: 'redis-cluster',
      version: /redis_version:(\S+)/.exec(cluster.nodes[0]!.cli('info', 'server'))?.[1] ?? '',
      engine: clusterEngine,
      raw: () => {
        const key = `k${m++ % 64}`;
        return clusterRaw.command(key, ['EVALSHA', sha, '1', key]);
      },
      close: () => clusterRaw.close(),
    });

    // PostgreSQL: a database of our own on the local server.
    const adminUrl = process.env.TESSERA_BENCH_PG ?? process.env.TESSERA_TEST_PG;
    if (adminUrl) process.env.TESSERA_TEST_PG = adminUrl;
    let database: TestDatabase | null = null;
    try {
      database = await createTestDatabase('bench');
    } catch (error) {
      skipped.push({ backend: 'postgres', reason: String(error) });
    }
    if (database) {
      const db = database;
      cleanups.push(() => db.drop());
      const store = await PostgresStore.connect({ connectionString: db.url, poolSize: settings.pgPool });
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
      await client.end();
      subjects.push({ backend: 'postgres', version, engine: await engineOn(store, settings), raw: () => store.ping(), close: async () => undefined });
    } else if (skipped.length === 0) {
      skipped.push({ backend: 'postgres', reason: 'no PostgreSQL server answered (see the warning above)' });
    }

    // Every user at the device limit before the first login is measured.
    for (const subject of subjects) {
      log(`${subject.backend}: ${settings.users} users at the device limit (${settings.deviceLimit})`);
      await rate(settings.users * settings.deviceLimit, settings.concurrency, (i) => subject.engine.createSession({ userId: `user-${i % settings.users}` }));
    }

    const results = new Map<Backend, Record<Operation, Measurement[]>>();
    for (const subject of subjects) results.set(subject.backend, { raw: [], login: [], refresh: [], revoke: [] });
    const options = { concurrency: settings.concurrency, ms: settings.seconds * 1000, warmupMs: 200 };
    for (let round = 1; round <= settings.rounds; round++) {
      const took: string[] = [];
      for (const subject of subjects) {
        const started = performance.now();
        const { engine } = subject;
        const record = results.get(subject.backend)!;
        const settled = async (run: () => Promise<Measurement>) => {
          // Each measurement starts with the event log caught up, so that no operation pays for another's.
          await engine.flushEvents();
          return run();
        };
        record.raw.push(await settled(() => measure(() => subject.raw().then(() => undefined), options)));
        record.login.push(
          await settled(() => measure(async () => void (await engine.createSession({ userId: `user-${Math.floor(Math.random() * settings.users)}` })), options)),
        );
        // Every worker refreshes its own session, on and on, with the token the last refresh issued.
        const chains: IssuedTokens[] = await Promise.all(
          Array.from({ length: settings.concurrency }, (_, w) => engine.createSession({ userId: `refresher-${round}-${w}` })),
        );
        record.refresh.push(await settled(() => measure(async (w) => void (chains[w] = await engine.refresh(chains[w]!.refreshToken)), options)));
        // Live sessions to revoke, one user each, put in the store beforehand: enough for the time at
        // the rate of the last round (or of logins), at most 40,000. Where they run out first (the
        // memory store), the measurement ends early and counts what it did. No warm-up: it would eat them.
        const expected = Math.max(record.revoke.at(-1)?.opsPerSecond ?? 0, record.login.at(-1)!.opsPerSecond);
        const wanted = Math.min(40_000, Math.ceil(expected * settings.seconds * 1.3) + settings.concurrency);
        const sids: string[] = [];
        await rate(wanted, settings.concurrency, async (i) => {
          const session = sessionRecord(`revokee-${round}-${i}`);
          await engine.store.createSession({ session, maxSessions: 0, onLimit: 'evict-oldest', now: session.createdAt, retention: RETENTION });
          sids.push(session.sid);
        });
        record.revoke.push(
          await settled(() =>
            measure(
              async () => {
                const sid = sids.pop();
                if (sid === undefined) return false;
                await engine.revoke(sid, 'logout');
              },
              { ...options, warmupMs: 0 },
            ),
          ),
        );
        // What a deployment would have purged by the next round, had the retention passed: the
        // sessions revoked here and their revocation entries. Otherwise each round would start on a
        // bigger store than the last (and the memory store would fill this process's heap).
        await engine.flushEvents();
        await engine.store.sweep(Date.now() + RETENTION + 60_000);
        (globalThis as { gc?: () => void }).gc?.();
        took.push(`${subject.backend} ${((performance.now() - started) / 1000).toFixed(1)} s ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MB`);
      }
      const heap = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
      log(`round ${round}/${settings.rounds} done (${took.join(', ')}; heap ${heap} MB)`);
    }

    const rows: OperationsRow[] = [...subjects].map((subject) => {
      const record = results.get(subject.backend)!;
      const summary = (ms: Measurement[]): OperationResult => ({
        opsPerSecond: median(ms.map((x) => x.opsPerSecond)),
        rounds: ms.map((x) => Math.round(x.opsPerSecond)),
        p50: median(ms.map((x) => x.p50)),
        p99: median(ms.map((x) => x.p99)),
        clientCpu: median(ms.map((x) => x.clientCpu)),
      });
      return {
        backend: subject.backend,
        version: subject.version,
        results: { raw: summary(record.raw), login: summary(record.login), refresh: summary(record.refresh), revoke: summary(record.revoke) },
      };
    });
    return { settings, rows, skipped };
  } finally {
    await cleanup();
    removeInterrupt();
  }
}
