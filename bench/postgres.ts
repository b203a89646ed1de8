/**
 * PostgreSQL store: session operations per second through the engine (login with a device limit,
 * refresh, revoke), next to the raw round-trip rate (`SELECT 1` through the same pool) at the same
 * concurrency, as ratios; and the same operations as bare store calls. Rounds interleave the
 * operations (A B C ... A B C ...) and the table shows medians, so that drift on a busy machine hits
 * every row alike.
 *
 *     npm run bench:postgres
 *     node --conditions=source --import tsx bench/postgres.ts
 *
 * Settings (environment): TESSERA_BENCH_PG (admin URL; else TESSERA_TEST_PG; else
 * postgres://postgres@127.0.0.1:5432/postgres), BENCH_CONCURRENCY (32), BENCH_POOL (10),
 * BENCH_SECONDS per measurement (1.5), BENCH_ROUNDS (3). It creates a database and drops it after.
 */
import { Engine, hashSecret, newSecret, type CreateSessionInput, type SessionRecord } from '@tessera/core';
import { PostgresStore } from '@tessera/postgres';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { measure as measureLoad, type Measurement } from './lib/load.js';
import { RETENTION, sessionRecord } from './lib/records.js';
import { median } from './lib/stats.js';

const ADMIN_URL = process.env.TESSERA_BENCH_PG ?? process.env.TESSERA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CONCURRENCY = positive('BENCH_CONCURRENCY', 32);
const POOL = positive('BENCH_POOL', 10);
const SECONDS = positive('BENCH_SECONDS', 1.5);
const ROUNDS = positive('BENCH_ROUNDS', 3);
const WARMUP_MS = 300;
const USERS = 1000;
const LIMIT = 3;

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
}

/** Runs `op` from CONCURRENCY workers for `ms` (after a warm-up); `op` returns false when it has no more work. */
const measure = (op: (worker: number) => Promise<boolean | void>, ms = SECONDS * 1000): Promise<Measurement> =>
  measureLoad(op, { concurrency: CONCURRENCY, ms, warmupMs: WARMUP_MS });
const DAY = 86_400_000;

/** A new session record as the engine would make it. */
const fresh = (user: string): SessionRecord => sessionRecord(user);

function admission(session: SessionRecord): CreateSessionInput {
  return { session, maxSessions: LIMIT, onLimit: 'evict-oldest', now: session.createdAt, retention: RETENTION };
}
const userId = () => `user-${Math.floor(Math.random() * USERS)}`;

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const name = `tessera_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const version = await admin(async (c) => {
    await c.query(`CREATE DATABASE ${name}`);
    return (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  });
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const store = await PostgresStore.connect({ connectionString: url.toString(), poolSize: POOL });
  const engine = await Engine.create({
    store,
    issuer: 'https://bench.tessera.test',
    audience: 'bench',
    policy: { maxSessionsPerUser: LIMIT, onLimit: 'evict-oldest', maxFailedRefreshesPerMinute: 0 },
  });
  try {
    // Each measurement starts with the event log caught up, so that no operation pays for another's.
    const settled = async (run: () => Promise<Measurement>) => {
      await engine.flushEvents();
      return run();
    };
    const rows: { label: string; results: Measurement[]; run: (round: number) => Promise<Measurement> }[] = [
      { label: '`SELECT 1` round trip (the same pool)', results: [], run: () => measure(() => store.ping()) },
      {
        label: `engine: login (device limit ${LIMIT}, evict-oldest)`,
        results: [],
        run: () => measure(async () => void (await engine.createSession({ userId: userId() }))),
      },
      {
        // Every worker refreshes its own session, on and on, with the token the last refresh issued.
        label: 'engine: refresh (rotation)',
        results: [],
        run: async (round) => {
          const chains = await Promise.all(Array.from({ length: CONCURRENCY }, (_, n) => engine.createSession({ userId: `refresher-${round}-${n}` })));
          return measure(async (n) => void (chains[n] = await engine.refresh(chains[n]!.refreshToken)));
        },
      },
      { label: 'engine: revoke', results: [], run: (round) => revoking(round, (sid) => engine.revoke(sid, 'logout')) },
      {
        label: `store: createSession (limit ${LIMIT}, evict-oldest)`,
        results: [],
        run: () => measure(async () => void (await store.createSession(admission(fresh(userId()))))),
      },
      {
        label: 'store: rotateRefresh',
        results: [],
        run: async (round) => {
          const chains = await Promise.all(
            Array.from({ length: CONCURRENCY }, async (_, n) => (await store.createSession(admission(fresh(`rotator-${round}-${n}`)))).session),
          );
          return measure(async (n) => {
            const hash = hashSecret(newSecret());
            const result = await store.rotateRefresh({
              sid: chains[n]!.sid,
              presentedHash: chains[n]!.refresh.hash,
              now: Date.now(),
              next: { hash, successor: 'sealed-successor' },
              idleTimeout: DAY,
              refreshGrace: 10_000,
              refreshHistory: 8,
              retention: RETENTION,
            });
            if (result.outcome !== 'rotated') throw new Error(`unexpected ${result.outcome}`);
            chains[n] = result.session;
          });
        },
      },
      {
        label: 'store: revokeSession',
        results: [],
        run: (round) => revoking(round, (sid) => store.revokeSession({ sid, reason: 'logout', now: Date.now(), retention: RETENTION })),
      },
    ];

    // Live sessions to revoke (one per user, so that every revoke changes something), made beforehand:
    // about 1.5 times what the login rate would get through.
    async function revoking(round: number, revoke: (sid: string) => Promise<unknown>): Promise<Measurement> {
      const wanted = Math.ceil(rows[1]!.results.at(-1)!.opsPerSecond * (SECONDS + WARMUP_MS / 1000) * 1.5) + CONCURRENCY;
      const sids: string[] = [];
      await measure(async () => {
        if (sids.length >= wanted) return false;
        sids.push((await store.createSession(admission(fresh(`revokee-${round}-${sids.length}-${Math.random()}`)))).session.sid);
      }, 3_600_000);
      return settled(() =>
        measure(async () => {
          const sid = sids.pop();
          if (sid === undefined) return false;
          await revoke(sid);
        }),
      );
    }

    for (let round = 1; round <= ROUNDS; round++) {
      for (const row of rows) row.results.push(await settled(() => row.run(round)));
      process.stderr.write(`round ${round}/${ROUNDS} done\n`);
    }

    const ping = median(rows[0]!.results.map((m) => m.opsPerSecond));
    console.log(`\n### PostgreSQL store, ${CONCURRENCY} concurrent callers, pool of ${POOL}\n`);
    console.log(`PostgreSQL ${version} on the same machine (loopback); Node ${process.version}; ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}.`);
    console.log(`${ROUNDS} interleaved rounds of ${SECONDS} s per operation; medians. "engine:" rows are what an application sees`);
    console.log('(tokens signed, events logged); "store:" rows are the store calls alone. On a shared machine the absolute');
    console.log('figures are noise; the ratios, taken in the same run, are the result.\n');
    console.log('| operation | ops/s | × `SELECT 1` | p50 ms | p99 ms | client CPU µs/op |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const { label, results } of rows) {
      const m = (pick: (x: Measurement) => number) => median(results.map(pick));
      const ops = m((x) => x.opsPerSecond);
      console.log(
        `| ${label} | ${Math.round(ops).toLocaleString('en-US')} | ${(ops / ping).toFixed(2)} | ${m((x) => x.p50).toFixed(2)} | ${m((x) => x.p99).toFixed(2)} | ${Math.round(m((x) => x.clientCpu))} |`,
      );
    }
  } finally {
    await engine.close();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
