/**
 * Two `tessera serve` processes on one store (a SQLite file; a Redis server): a revocation made on
 * one node is honoured by the other, and a login on one node that evicts a device reaches that
 * device's socket on the other. The delays are measured and printed (and must stay under bounds).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../postgres/src/testing/database.js';
import { RedisServer, skipWithoutRedis } from '../../redis/src/testing/redis-server.js';
import { openEvents } from './testing/helpers.js';
import { json, serve, tessera, type ServeProcess } from './testing/processes.js';

const ADMIN_KEY = 'two-nodes-admin-key-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'tessera-nodes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Nodes {
  a: ServeProcess;
  b: ServeProcess;
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const round = (x: number) => Math.round(x * 10) / 10;
  return { n: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(sorted.at(-1)!) };
}

function twoNodeSuite(name: string, storeUrl: () => string, bounds: { revocation: number; pushP99: number }) {
  describe(`two nodes on ${name}`, () => {
    let nodes: Nodes;
    beforeAll(async () => {
      const env = { TESSERA_STORE: storeUrl(), TESSERA_ADMIN_KEY: ADMIN_KEY, TESSERA_DEMO_USER: 'false', TESSERA_MAX_SESSIONS_PER_USER: '1' };
      const added = await tessera(['users', 'add', 'nina', '--password-stdin'], { env, input: 'ninas passphrase!!\n' });
      expect(added.code).toBe(0);
      const [a, b] = await Promise.all([serve({ env }), serve({ env })]);
      nodes = { a: a!, b: b! };
    }, 60_000);
    afterAll(async () => {
      await Promise.all([nodes?.a.stop(), nodes?.b.stop()]);
    });

    it('a logout on node A is honoured by node B', async () => {
      const { a, b } = nodes;
      const login = await json(`${a.url}/v1/auth/login`, { body: { username: 'nina', password: 'ninas passphrase!!', transport: 'header' } });
      expect(login.status).toBe(200);
      const token = login.body.accessToken;
      expect((await json(`${b.url}/v1/sessions`, { token })).status).toBe(200);
      expect((await json(`${a.url}/v1/auth/logout`, { method: 'POST', token })).status).toBe(204);
      const revokedAt = performance.now();
      let attempts = 0;
      let reply: { status: number; body: any };
      do {
        attempts++;
        reply = await json(`${b.url}/v1/sessions`, { token });
      } while (reply.status === 200 && performance.now() - revokedAt < 5000);
      const delay = performance.now() - revokedAt;
      console.log(`[${name}] node B refused the revoked token after ${attempts} request(s), ${delay.toFixed(1)} ms after node A's logout response`);
      expect(reply.body.error.code).toBe('session_revoked');
      expect(delay).toBeLessThan(bounds.revocation);
      // Refreshing on B is refused too (that decision is the store's, on every node).
      const refresh = await json(`${b.url}/v1/auth/refresh`, { body: { refreshToken: login.body.refreshToken } });
      expect(refresh.body.error.code).toBe('session_revoked');
    }, 30_000);

    it('a login on node A that evicts a device reaches its socket on node B (measured)', async () => {
      const { a, b } = nodes;
      const create = () => json(`${a.url}/v1/admin/sessions`, { token: ADMIN_KEY, body: { userId: `measure-${name}` } });
      let current = (await create()).body;
      const fromRequest: number[] = [];
      const fromResponse: number[] = [];
      for (let i = 0; i < 40; i++) {
        const socket = await openEvents(b.url, current.accessToken);
        await socket.next('ready');
        const sent = performance.now();
        const next = await create();
        const answered = performance.now();
        const notice = await socket.next('session.revoked');
        expect(notice).toMatchObject({ sessionId: current.session.id, reason: 'evicted' });
        expect((await socket.closed).code).toBe(4001);
        fromRequest.push(notice.receivedAt - sent);
        fromResponse.push(notice.receivedAt - answered);
        current = next.body;
      }
      const request = stats(fromRequest);
      const response = stats(fromResponse);
      console.log(
        `[${name}] eviction push across processes, ms from the evicting request being sent: ${JSON.stringify(request)}; ` +
          `relative to node A's response arriving (negative = before it): ${JSON.stringify(response)}`,
      );
      expect(request.p99).toBeLessThan(bounds.pushP99);

      // And with a password login (a full OWASP scrypt on node A) as the evicting action.
      const first = await json(`${a.url}/v1/auth/login`, { body: { username: 'nina', password: 'ninas passphrase!!', transport: 'header' } });
      const socket = await openEvents(b.url, first.body.accessToken);
      await socket.next('ready');
      await json(`${a.url}/v1/auth/login`, { body: { username: 'nina', password: 'ninas passphrase!!', transport: 'header' } });
      const answered = performance.now();
      const notice = await socket.next('session.revoked');
      expect(notice).toMatchObject({ sessionId: first.body.session.id, reason: 'evicted' });
      console.log(`[${name}] password login eviction: the socket on node B heard ${(notice.receivedAt - answered).toFixed(1)} ms after node A answered the login`);
    }, 60_000);
  });
}

twoNodeSuite('one SQLite file', () => `sqlite:${join(dir, 'shared.db')}`, { revocation: 2000, pushP99: 1000 });

const skipRedis = skipWithoutRedis();
describe.skipIf(skipRedis)('on Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  twoNodeSuite('one Redis', () => redis.url, { revocation: 200, pushP99: 100 });
});

// PostgreSQL (LISTEN/NOTIFY feed), through `openStore`'s postgres:// URL with a schema of its own.
const pg = await createTestDatabase('server_nodes');
describe.skipIf(!pg)('on PostgreSQL', () => {
  afterAll(() => pg?.drop());
  twoNodeSuite('one PostgreSQL', () => `${pg!.url}?schema=nodes`, { revocation: 200, pushP99: 100 });
});
