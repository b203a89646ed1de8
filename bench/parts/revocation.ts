/**
 * Part 3: revocation-to-rejection delay across two processes.
 *
 * This process revokes a session; another process (bench/apps/revocation-verifier.ts), which had
 * just accepted the session's access token, verifies it on every turn of its event loop until it
 * refuses it. The delay runs from the moment the revoking call starts here to the first refusal
 * there, both read on CLOCK_MONOTONIC (`process.hrtime`), which every process of the machine shares.
 *
 *   Redis          an engine on Redis in each process; the feed is Redis pub/sub
 *   PostgreSQL     an engine on PostgreSQL in each process; the feed is LISTEN/NOTIFY
 *   SQLite         an engine on one SQLite file in each process; the other process polls (20 ms)
 *   remote         `tessera serve` on Redis revokes (admin API); the other process is a remote
 *                  verifier fed by the service's revocation stream (server-sent events)
 *
 * Next to it: what a stateless JWT allows — the token stays valid until it expires, up to the
 * access-token lifetime (10 minutes by default) plus the verifier's leeway (30 s).
 * Samples interleave the backends (A B C … A B C …); each waits a random 0–20 ms before revoking so
 * that revocations do not line up with heartbeats or polls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Engine } from '@tessera/core';
import { RedisStore } from '@tessera/redis';
import { SqliteStore } from '@tessera/sqlite';
import { PostgresStore } from '@tessera/postgres';
import { RedisServer } from '../../packages/redis/src/testing/redis-server.js';
import { createTestDatabase, type TestDatabase } from '../../packages/postgres/src/testing/database.js';
import { ask, onInterrupt, startScript, startTesseraServe, type Child } from '../lib/processes.js';
import { median, percentile, sleep } from '../lib/stats.js';

export const FEEDS = ['redis', 'postgres', 'sqlite', 'remote'] as const;
export type Feed = (typeof FEEDS)[number];
export const FEED_LABELS: Record<Feed, string> = {
  redis: 'Redis (pub/sub)',
  postgres: 'PostgreSQL (LISTEN/NOTIFY)',
  sqlite: 'SQLite (polled every 20 ms)',
  remote: 'remote verifier (`tessera serve` on Redis, server-sent events)',
};

const ISSUER = 'https://auth.bench.test';
const AUDIENCE = 'bench-api';
const ADMIN_KEY = 'bench-admin-key-0123456789abcdefghijklmnop';
/** What a stateless JWT allows: the default access-token lifetime, plus the default leeway. */
export const JWT_LIFETIME_MS = 10 * 60_000;
export const JWT_LEEWAY_MS = 30_000;

export interface RevocationSettings {
  samples: number;
}
export const revocationSettings = (full: boolean): RevocationSettings => (full ? { samples: 200 } : { samples: 40 });

export interface RevocationRow {
  feed: Feed;
  samples: number;
  /** Revocation-to-rejection delay, ms. */
  p50: number;
  p99: number;
  max: number;
  /** How long the revoking call itself took, ms (median). */
  revokeCall: number;
  /** Tokens still accepted 5 s after the revocation (should be 0). */
  missed: number;
}

export interface RevocationData {
  settings: RevocationSettings;
  rows: RevocationRow[];
  skipped: { feed: Feed; reason: string }[];
  jwt: { lifetime: number; leeway: number };
}

interface Subject {
  feed: Feed;
  child: Child<{ type: 'ready' }>;
  issue(userId: string): Promise<{ token: string; sid: string }>;
  revoke(sid: string): Promise<unknown>;
  close(): Promise<void>;
}

function nextMessage<M>(child: ChildProcess, accept: (message: any) => message is M, timeout = 30_000): Promise<M> {
  return new Promise<M>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`no message within ${timeout} ms`));
    }, timeout);
    const onMessage = (message: unknown) => {
      if (!accept(message)) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
  });
}

const engineOn = (store: RedisStore | SqliteStore | PostgresStore) => Engine.create({ store, issuer: ISSUER, audience: AUDIENCE });
const fromEngine = (engine: Engine) => ({
  issue: async (userId: string) => {
    const issued = await engine.createSession({ userId });
    return { token: issued.accessToken, sid: issued.session.sid };
  },
  revoke: (sid: string) => engine.revoke(sid, 'logout'),
});

export async function runRevocation(full: boolean, log: (line: string) => void): Promise<RevocationData> {
  const settings = revocationSettings(full);
  const subjects: Subject[] = [];
  const skipped: RevocationData['skipped'] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const subject of subjects.splice(0)) await subject.close().catch(() => undefined);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  };
  const removeInterrupt = onInterrupt(cleanup);
  const env = { BENCH_ISSUER: ISSUER, BENCH_AUDIENCE: AUDIENCE, BENCH_ADMIN_KEY: ADMIN_KEY };
  const verifierProcess = (target: string) => startScript<{ type: 'ready' }>('bench/apps/revocation-verifier.ts', [target], { env });
  try {
    // Redis: an engine here, another in the verifier process.
    const redis = await RedisServer.start();
    cleanups.push(() => redis.stop());
    const redisEngine = await engineOn(await RedisStore.connect({ url: redis.url }));
    const redisChild = await verifierProcess(redis.url);
    subjects.push({ feed: 'redis', child: redisChild, ...fromEngine(redisEngine), close: async () => (await redisChild.stop(), await redisEngine.close()) });

    // PostgreSQL
    const adminUrl = process.env.TESSERA_BENCH_PG ?? process.env.TESSERA_TEST_PG;
    if (adminUrl) process.env.TESSERA_TEST_PG = adminUrl;
    let database: TestDatabase | null = null;
    try {
      database = await createTestDatabase('bench_revocation');
    } catch (error) {
      skipped.push({ feed: 'postgres', reason: String(error) });
    }
    if (database) {
      const db = database;
      cleanups.push(() => db.drop());
      const engine = await engineOn(await PostgresStore.connect({ connectionString: db.url }));
      const child = await verifierProcess(db.url);
      subjects.push({ feed: 'postgres', child, ...fromEngine(engine), close: async () => (await child.stop(), await engine.close()) });
    } else if (skipped.length === 0) {
      skipped.push({ feed: 'postgres', reason: 'no PostgreSQL server answered' });
    }

    // SQLite: one file, two processes.
    const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-revocation-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'sessions.db');
    const sqliteEngine = await engineOn(new SqliteStore({ path }));
    const sqliteChild = await verifierProcess(`sqlite:${path}`);
    subjects.push({ feed: 'sqlite', child: sqliteChild, ...fromEngine(sqliteEngine), close: async () => (await sqliteChild.stop(), await sqliteEngine.close()) });

    // Remote: the service on a Redis of its own revokes through its admin API; the verifier listens to
    // its stream.
    const serviceRedis = await RedisServer.start();
    cleanups.push(() => serviceRedis.stop());
    const service = await startTesseraServe({ TESSERA_STORE: serviceRedis.url, TESSERA_ADMIN_KEY: ADMIN_KEY, TESSERA_ISSUER: ISSUER, TESSERA_AUDIENCE: AUDIENCE });
    cleanups.push(() => service.stop());
    const remoteChild = await verifierProcess(`remote:${service.url}`);
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(`${service.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    subjects.push({
      feed: 'remote',
      child: remoteChild,
      issue: async (userId) => {
        const response = await admin('POST', '/v1/admin/sessions', { userId });
        const body = (await response.json()) as { accessToken: string; session: { id: string } };
        return { token: body.accessToken, sid: body.session.id };
      },
      revoke: async (sid) => {
        const response = await admin('DELETE', `/v1/admin/sessions/${sid}`);
        if (response.status !== 204) throw new Error(`DELETE /v1/admin/sessions: HTTP ${response.status}`);
      },
      close: () => remoteChild.stop(),
    });

    const delays = new Map<Feed, { delay: number[]; call: number[]; missed: number }>(subjects.map((s) => [s.feed, { delay: [], call: [], missed: 0 }]));
    let id = 0;
    for (let i = 0; i < settings.samples; i++) {
      for (const subject of subjects) {
        const record = delays.get(subject.feed)!;
        const { token, sid } = await subject.issue(`victim-${i}`);
        const watch = ++id;
        const watching = await ask(subject.child.process, { type: 'watch', id: watch, token }, (m): m is { type: 'watching'; error?: string } => m?.type === 'watching' && m.id === watch);
        if (watching.error) throw new Error(`${subject.feed}: the other process refused a live token (${watching.error})`);
        const refused = nextMessage(subject.child.process, (m): m is { at: string | null; code: string } => m?.type === 'refused' && m.id === watch);
        await sleep(Math.random() * 20);
        const start = process.hrtime.bigint();
        await subject.revoke(sid);
        record.call.push(Number(process.hrtime.bigint() - start) / 1e6);
        const answer = await refused;
        if (answer.at === null || answer.code !== 'session_revoked') record.missed++;
        else record.delay.push(Number(BigInt(answer.at) - start) / 1e6);
      }
      if ((i + 1) % 10 === 0) log(`${i + 1}/${settings.samples} revocations per feed`);
    }

    const rows: RevocationRow[] = subjects.map((subject) => {
      const { delay, call, missed } = delays.get(subject.feed)!;
      return {
        feed: subject.feed,
        samples: delay.length,
        p50: percentile(delay, 50),
        p99: percentile(delay, 99),
        max: Math.max(...delay),
        revokeCall: median(call),
        missed,
      };
    });
    return { settings, rows, skipped, jwt: { lifetime: JWT_LIFETIME_MS, leeway: JWT_LEEWAY_MS } };
  } finally {
    await cleanup();
    removeInterrupt();
  }
}
