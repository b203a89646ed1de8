/**
 * Part 2: session operations per second — login with a device limit (every login evicts the user's
 * least recently seen session: the heaviest login there is), refresh (rotation) and revoke — through
 * the engine on each store, next to that store's raw round trip at the same concurrency, in one run;
 * each store in a process (and a heap) of its own (bench/apps/operations-worker.ts):
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
import { RedisClusterServers, RedisServer } from '../../packages/redis/src/testing/redis-server.js';
import { createTestDatabase, type TestDatabase } from '../../packages/postgres/src/testing/database.js';
import type { Measurement } from '../lib/load.js';
import { ask, onInterrupt, startScript, type Child } from '../lib/processes.js';
import { median } from '../lib/stats.js';
import type { MeasureRequest, Operation, OperationsSettings } from '../apps/operations-worker.js';

export type { OperationsSettings } from '../apps/operations-worker.js';

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

interface Worker {
  backend: Backend;
  version: string;
  child: Child<{ type: 'ready'; version: string }>;
}

let requestId = 0;
async function measureIn(worker: Worker, op: Operation, round: number, expected: number): Promise<Measurement> {
  const request: MeasureRequest = { type: 'measure', id: ++requestId, op, round, expected };
  const reply = await ask(
    worker.child.process,
    request,
    (m): m is { type: 'measured'; id: number; measurement?: Measurement; error?: string } => m?.type === 'measured' && m.id === request.id,
    300_000,
  );
  if (!reply.measurement) throw new Error(`${worker.backend} ${op}: ${reply.error}`);
  return reply.measurement;
}

export async function runOperations(full: boolean, log: (line: string) => void): Promise<OperationsData> {
  const settings = operationsSettings(full);
  const workers: Worker[] = [];
  const skipped: OperationsData['skipped'] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    // The store processes first, then the servers and files they used.
    for (const worker of workers.splice(0)) await worker.child.stop().catch(() => undefined);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  };
  const removeInterrupt = onInterrupt(cleanup);
  try {
    const env: Record<string, string> = { BENCH_OPS: JSON.stringify(settings) };

    const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-sqlite-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    env.BENCH_SQLITE_PATH = join(dir, 'bench.db');

    const redis = await RedisServer.start();
    cleanups.push(() => redis.stop());
    env.BENCH_REDIS_URL = redis.url;
    env.BENCH_REDIS_SHA = redis.cli('script', 'load', 'return 1').trim();

    log('starting a Redis Cluster (3 masters)');
    const cluster = await RedisClusterServers.start({ masters: 3, replicas: 0 });
    cleanups.push(() => cluster.stop());
    env.BENCH_CLUSTER_URLS = cluster.urls.join(',');
    for (const node of cluster.nodes) node.cli('script', 'load', 'return 1');

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
      env.BENCH_PG_URL = db.url;
    } else if (skipped.length === 0) {
      skipped.push({ backend: 'postgres', reason: 'no PostgreSQL server answered (see the warning above)' });
    }

    // One process per store, started one after the other (each fills its store with every user at
    // the device limit before it says it is ready).
    for (const backend of BACKENDS) {
      if (skipped.some((s) => s.backend === backend)) continue;
      log(`${backend}: ${settings.users} users at the device limit (${settings.deviceLimit})`);
      const child = await startScript<{ type: 'ready'; version: string }>('bench/apps/operations-worker.ts', [backend], { env, timeout: 300_000 });
      workers.push({ backend, version: child.ready.version, child });
    }

    const results = new Map<Backend, Record<Operation, Measurement[]>>();
    for (const worker of workers) results.set(worker.backend, { raw: [], login: [], refresh: [], revoke: [] });
    for (let round = 1; round <= settings.rounds; round++) {
      const took: string[] = [];
      for (const worker of workers) {
        const started = performance.now();
        const record = results.get(worker.backend)!;
        record.raw.push(await measureIn(worker, 'raw', round, 0));
        record.login.push(await measureIn(worker, 'login', round, 0));
        record.refresh.push(await measureIn(worker, 'refresh', round, 0));
        const expected = Math.max(record.revoke.at(-1)?.opsPerSecond ?? 0, record.login.at(-1)!.opsPerSecond);
        record.revoke.push(await measureIn(worker, 'revoke', round, expected));
        took.push(`${worker.backend} ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
      log(`round ${round}/${settings.rounds} done (${took.join(', ')})`);
    }

    const rows: OperationsRow[] = workers.map((worker) => {
      const record = results.get(worker.backend)!;
      const summary = (ms: Measurement[]): OperationResult => ({
        opsPerSecond: median(ms.map((x) => x.opsPerSecond)),
        rounds: ms.map((x) => Math.round(x.opsPerSecond)),
        p50: median(ms.map((x) => x.p50)),
        p99: median(ms.map((x) => x.p99)),
        clientCpu: median(ms.map((x) => x.clientCpu)),
      });
      return {
        backend: worker.backend,
        version: worker.version,
        results: { raw: summary(record.raw), login: summary(record.login), refresh: summary(record.refresh), revoke: summary(record.revoke) },
      };
    });
    return { settings, rows, skipped };
  } finally {
    await cleanup();
    removeInterrupt();
  }
}
