/**
 * One store's contender process for the session-operations part (parts/operations.ts): an engine on
 * that store, with every user at the device limit, measuring one operation at a time when the runner
 * asks, so that each store runs in a process (and a heap) of its own.
 *
 *   node --conditions=source --import tsx bench/apps/operations-worker.ts <memory|sqlite|redis|redis-cluster|postgres>
 *
 * Settings come from the runner, in the environment: BENCH_OPS (the part's settings, JSON) and, per
 * store, BENCH_SQLITE_PATH, BENCH_REDIS_URL, BENCH_CLUSTER_URLS (comma-separated), BENCH_REDIS_SHA
 * (of `return 1`, loaded on every node by the runner), BENCH_PG_URL.
 *
 * Messages: `{type: 'measure', id, op, round, expected}` → `{type: 'measured', id, measurement}`.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { Engine, MemoryStore, type IssuedTokens, type SessionStore } from '@tessera/core';
import { SqliteStore } from '@tessera/sqlite';
import { RedisStore } from '@tessera/redis';
import { PostgresStore } from '@tessera/postgres';
import { Connection } from '../../packages/redis/src/connection.js';
import { measure, rate, type Measurement } from '../lib/load.js';
import { RETENTION, sessionRecord } from '../lib/records.js';
import { ready, setting } from './ipc.js';

export interface OperationsSettings {
  concurrency: number;
  seconds: number;
  rounds: number;
  users: number;
  deviceLimit: number;
  pgPool: number;
}

export type Operation = 'raw' | 'login' | 'refresh' | 'revoke';

export interface MeasureRequest {
  type: 'measure';
  id: number;
  op: Operation;
  round: number;
  /** For revoke: the rate to provision sessions for (the last round's, or the login rate). */
  expected: number;
}

const ISSUER = 'https://auth.bench.test';
const AUDIENCE = 'bench-api';

const backend = process.argv[2];
const settings = JSON.parse(setting('BENCH_OPS')) as OperationsSettings;

/** The store, its raw round trip, its server's version, and what to close. */
async function subject(): Promise<{ store: SessionStore; raw: () => Promise<unknown>; version: string }> {
  switch (backend) {
    case 'memory':
      return { store: new MemoryStore(), raw: () => Promise.resolve(), version: '' };
    case 'sqlite': {
      const path = setting('BENCH_SQLITE_PATH');
      const store = new SqliteStore({ path });
      // A second handle on the same file, for the raw round trip.
      const db = new Database(path);
      const select1 = db.prepare('SELECT 1');
      return { store, raw: async () => select1.get(), version: (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v };
    }
    case 'redis':
    case 'redis-cluster': {
      const target = backend === 'redis' ? { url: setting('BENCH_REDIS_URL') } : { cluster: setting('BENCH_CLUSTER_URLS').split(',') };
      const store = await RedisStore.connect(target);
      // The store's connection code on a connection of its own; EVALSHA with a key, routed like the scripts.
      const connection = await Connection.open(target, { commandTimeout: 2000, connectTimeout: 5000 });
      const sha = setting('BENCH_REDIS_SHA');
      let n = 0;
      const info = String(await connection.command('k0', ['INFO', 'server']));
      return {
        store,
        raw: () => {
          const key = `k${n++ % 64}`;
          return connection.command(key, ['EVALSHA', sha, '1', key]);
        },
        version: /redis_version:(\S+)/.exec(info)?.[1] ?? '',
      };
    }
    case 'postgres': {
      const url = setting('BENCH_PG_URL');
      const store = await PostgresStore.connect({ connectionString: url, poolSize: settings.pgPool });
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
      await client.end();
      return { store, raw: () => store.ping(), version };
    }
    default:
      throw new Error(`usage: operations-worker.ts <memory|sqlite|redis|redis-cluster|postgres> (got ${backend})`);
  }
}

const { store, raw, version } = await subject();
// No throttling of failed refreshes: none fail here, and the counter would be one more write.
const engine = await Engine.create({ store, issuer: ISSUER, audience: AUDIENCE, policy: { maxSessionsPerUser: settings.deviceLimit, onLimit: 'evict-oldest' } });
// Every user at the device limit before the first login is measured.
await rate(settings.users * settings.deviceLimit, settings.concurrency, (i) => engine.createSession({ userId: `user-${i % settings.users}` }));

const options = { concurrency: settings.concurrency, ms: settings.seconds * 1000, warmupMs: 200 };

async function run(request: MeasureRequest): Promise<Measurement> {
  // Each measurement starts with the event log caught up, so that no operation pays for another's.
  await engine.flushEvents();
  switch (request.op) {
    case 'raw':
      return measure(() => raw().then(() => undefined), options);
    case 'login':
      return measure(async () => void (await engine.createSession({ userId: `user-${Math.floor(Math.random() * settings.users)}` })), options);
    case 'refresh': {
      // Every worker refreshes its own session, on and on, with the token the last refresh issued.
      const chains: IssuedTokens[] = await Promise.all(
        Array.from({ length: settings.concurrency }, (_, w) => engine.createSession({ userId: `refresher-${request.round}-${w}` })),
      );
      await engine.flushEvents();
      return measure(async (w) => void (chains[w] = await engine.refresh(chains[w]!.refreshToken)), options);
    }
    case 'revoke': {
      // Live sessions to revoke, one user each, put in the store beforehand: enough for the time at
      // the expected rate, at most 40,000. Where they run out first (the memory store), the
      // measurement ends early and counts what it did. No warm-up: it would eat them.
      const wanted = Math.min(40_000, Math.ceil(request.expected * settings.seconds * 1.3) + settings.concurrency);
      const sids: string[] = [];
      await rate(wanted, settings.concurrency, async (i) => {
        const session = sessionRecord(`revokee-${request.round}-${i}`);
        await engine.store.createSession({ session, maxSessions: 0, onLimit: 'evict-oldest', now: session.createdAt, retention: RETENTION });
        sids.push(session.sid);
      });
      await engine.flushEvents();
      const measured = await measure(
        async () => {
          const sid = sids.pop();
          if (sid === undefined) return false;
          await engine.revoke(sid, 'logout');
        },
        { ...options, warmupMs: 0 },
      );
      // What a deployment would have purged by the next round, had the retention passed: the sessions
      // revoked in this round (evicted by logins, and revoked here) and their revocation entries.
      // Otherwise each round would start on a bigger store than the last.
      await engine.flushEvents();
      await engine.store.sweep(Date.now() + RETENTION + 60_000);
      return measured;
    }
  }
}

process.on('message', (message: MeasureRequest) => {
  if (message?.type !== 'measure') return;
  run(message).then(
    (measurement) => process.send!({ type: 'measured', id: message.id, measurement }),
    (error: unknown) => process.send!({ type: 'measured', id: message.id, error: String((error as Error)?.stack ?? error) }),
  );
});

ready({ version });
