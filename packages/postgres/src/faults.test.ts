/**
 * Faults on a PostgreSQL server of the test's own: the database restarts under load. Calls fail
 * cleanly with `store_unavailable` (no hangs, no other errors), the same store objects carry on once
 * it is back, and a revocation made while another store's listener was cut off reaches that store
 * when its listener reconnects (back-fill).
 */
import { Engine, TesseraError, type IssuedTokens } from '@tessera/core';
import { expectCode, until } from '@tessera/core/conformance';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStore } from './postgres-store.js';
import { unreachable } from './testing/database.js';
import { FaultyLink } from './testing/link.js';
import { startThrowawayServer, type ThrowawayServer } from './testing/server.js';

const started = await startThrowawayServer();
const server: ThrowawayServer | null = 'reason' in started ? unreachable('a throwaway server of our own', new Error(started.reason)) : started;

const STATEMENT_TIMEOUT = 2000;
const CONNECT_TIMEOUT = 1000;
/** No call may take longer than a connect wait plus a statement, with room for a loaded machine. */
const BOUND = CONNECT_TIMEOUT + STATEMENT_TIMEOUT + 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Outcome {
  op: 'create' | 'refresh' | 'revoke';
  phase: string;
  ok: boolean;
  code?: string;
  error?: unknown;
  ms: number;
}

describe.skipIf(!server)('faults: the database restarts during load', () => {
  afterAll(() => server?.destroy());

  it('fails cleanly with store_unavailable, resumes with the same objects, and back-fills what a cut-off listener missed', async () => {
    const admin = new pg.Client({ connectionString: server!.url });
    await admin.connect();
    await admin.query('CREATE DATABASE tessera_faults');
    await admin.end();
    const direct = new URL(server!.url);
    direct.pathname = '/tessera_faults';
    const link = await FaultyLink.open(server!.port);
    const throughLink = new URL(direct);
    throughLink.port = String(link.port);
    const options = { statementTimeout: STATEMENT_TIMEOUT, connectTimeout: CONNECT_TIMEOUT, heartbeatInterval: 100, maxReconnectDelay: 500, poolSize: 8 };
    const a = await PostgresStore.connect({ connectionString: direct.toString(), ...options });
    const b = await PostgresStore.connect({ connectionString: throughLink.toString(), ...options });
    const engineA = await Engine.create({ store: a, issuer: 'https://tessera.test', audience: 'faults', policy: { maxSessionsPerUser: 3 } });
    const engineB = await Engine.create({ store: b, issuer: 'https://tessera.test', audience: 'faults' });
    try {
      const victim = await engineA.createSession({ userId: 'victim' });
      await expect(engineB.verify(victim.accessToken)).resolves.toMatchObject({ sessionId: victim.session.sid });

      // The load: workers that log in (device limit 3), refresh, and revoke every other session.
      let phase = 'before';
      let running = true;
      const outcomes: Outcome[] = [];
      const timed = async <T>(op: Outcome['op'], fn: () => Promise<T>): Promise<T | undefined> => {
        const start = performance.now();
        const at = phase;
        try {
          const value = await fn();
          outcomes.push({ op, phase: at, ok: true, ms: performance.now() - start });
          return value;
        } catch (error) {
          outcomes.push({ op, phase: at, ok: false, code: (error as TesseraError).code, error, ms: performance.now() - start });
          return undefined;
        }
      };
      const worker = async (n: number) => {
        for (let i = 0; running; i++) {
          const issued: IssuedTokens | undefined = await timed('create', () => engineA.createSession({ userId: `worker-${n}` }));
          if (!issued) {
            await sleep(20);
            continue;
          }
          const refreshed = await timed('refresh', () => engineA.refresh(issued.refreshToken));
          if (refreshed && i % 2 === 0) await timed('revoke', () => engineA.revoke(issued.session.sid, 'logout'));
        }
      };
      const workers = Array.from({ length: 8 }, (_, n) => worker(n));

      await sleep(500);
      // Cut store B off (its pool and its listener), then restart the database under the load.
      link.mode = 'refuse';
      phase = 'down';
      await server!.stop('fast');
      await sleep(1000);
      await server!.start();
      phase = 'recovering';
      await until(async () => a.ping().then(() => true, () => false), 10_000);

      // Revoked while B's listener cannot hear it: B must not know yet...
      expect(await engineA.revoke(victim.session.sid, 'admin')).toBe(true);
      await sleep(300);
      expect(engineB.verifier.isRevoked(victim.session.sid)).toBe(false);
      // ...and learns it by back-filling when its listener reconnects.
      link.mode = 'open';
      await until(() => engineB.verifier.isRevoked(victim.session.sid), 10_000);
      await expectCode(engineB.verify(victim.accessToken), 'session_revoked');

      // The feed delivers live again, both ways.
      phase = 'after';
      const fromB = await engineB.createSession({ userId: 'after-b' });
      const fromA = await engineA.createSession({ userId: 'after-a' });
      await engineA.revoke(fromB.session.sid, 'admin');
      await engineB.revoke(fromA.session.sid, 'admin');
      await until(() => engineB.verifier.isRevoked(fromB.session.sid) && engineA.verifier.isRevoked(fromA.session.sid), 5000);
      await until(() => engineA.verifier.feedHealthy && engineB.verifier.feedHealthy, 5000);
      await sleep(1000);
      running = false;
      await Promise.all(workers);

      const failures = outcomes.filter((o) => !o.ok);
      const unexpected = failures.filter((o) => !(o.error instanceof TesseraError) || o.code !== 'store_unavailable');
      expect(unexpected.map((o) => `${o.op} in ${o.phase}: ${String(o.error)}`)).toEqual([]);
      expect(failures.length).toBeGreaterThan(0);
      expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(BOUND);
      for (const op of ['create', 'refresh', 'revoke'] as const) {
        expect(outcomes.filter((o) => o.op === op && o.phase === 'before' && o.ok).length).toBeGreaterThan(0);
        expect(outcomes.filter((o) => o.op === op && o.phase === 'after' && o.ok).length).toBeGreaterThan(0);
      }
      expect(outcomes.filter((o) => o.phase === 'after' && !o.ok)).toEqual([]);
      // The device limit held through it all.
      for (let n = 0; n < 8; n++) expect((await a.listSessions(`worker-${n}`, Date.now())).length).toBeLessThanOrEqual(3);
      const causes = new Set(failures.map((o) => String(((o.error as TesseraError).cause as Error | undefined)?.message ?? (o.error as Error).message)));
      console.info(
        `faults: ${outcomes.length} calls, ${failures.length} failed (all store_unavailable), slowest ${Math.round(Math.max(...outcomes.map((o) => o.ms)))} ms; causes: ${[...causes].join(' | ')}`,
      );
    } finally {
      await engineA.close();
      await engineB.close();
      await link.close();
    }
  }, 90_000);

  it('a silent network (connections accepted, nothing answered) fails within the connect timeout, never hangs', async () => {
    const link = await FaultyLink.open(server!.port);
    const url = new URL(server!.url);
    url.port = String(link.port);
    const store = await PostgresStore.connect({ connectionString: url.toString(), statementTimeout: 1000, connectTimeout: 500, heartbeatInterval: 100 });
    try {
      await store.ping();
      link.mode = 'blackhole';
      for (const call of [() => store.getSession('AAAAAAAAAAAAAAAAAAAAAAAAAA'), () => store.ping(), () => store.listUsers()]) {
        const start = performance.now();
        await expectCode(call(), 'store_unavailable');
        expect(performance.now() - start).toBeLessThan(4000);
      }
      link.mode = 'open';
      await until(async () => store.ping().then(() => true, () => false), 5000);
    } finally {
      await store.close();
      await link.close();
    }
  }, 30_000);
});
