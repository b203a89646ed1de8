import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, TesseraError, userShard } from '@tessera/core';
import { runSessionDataConformance, runStoreConformance, expectCode, until } from '@tessera/core/conformance';
import { RedisStore } from './store.js';
import { RedisClusterServers, skipWithoutRedis } from './testing/redis-server.js';
import { freshPrefix, redisConformanceTarget } from './testing/targets.js';

const skip = skipWithoutRedis();

describe.skipIf(skip)('RedisStore on a Redis Cluster (3 masters, 1 replica each)', () => {
  let cluster: RedisClusterServers;
  beforeAll(async () => {
    cluster = await RedisClusterServers.start({ masters: 3, replicas: 1, nodeTimeout: 1000 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  runStoreConformance(redisConformanceTarget('redis-cluster', () => ({ cluster: cluster.urls })));
  runSessionDataConformance(redisConformanceTarget('redis-cluster', () => ({ cluster: cluster.urls })));

  describe('cluster specifics', () => {
    const COMMAND_TIMEOUT = 500;

    async function open(prefix = freshPrefix()) {
      const store = await RedisStore.connect({ cluster: cluster.urls, prefix, heartbeatInterval: 100, commandTimeout: COMMAND_TIMEOUT });
      const engine = await Engine.create({ store, issuer: 'https://tessera.test', audience: 'cluster', policy: { feedStaleAfter: '1s' } });
      return { store, engine, prefix, close: () => engine.close() };
    }

    it('session data of one namespace spreads over every master; list, count and clear reach all of them', async () => {
      const { store, prefix, close } = await open();
      try {
        const now = Date.now();
        await Promise.all(Array.from({ length: 120 }, (_, i) => store.setData('app1:', `sid-${i}`, `{"i":${i}}`, now + 60_000, now)));
        const masters = cluster.nodes.filter((node) => /role:master/.test(node.cli('info', 'replication')));
        expect(masters).toHaveLength(3);
        for (const master of masters) {
          const keys = master.cli('--scan', '--pattern', `${prefix}{d:*}:v:5:app1::*`).split('\n').filter(Boolean);
          expect(keys.length).toBeGreaterThan(10);
        }
        expect(await store.countData('app1:', now)).toBe(120);
        expect(await store.listData('app1:', now)).toHaveLength(120);
        await store.clearData('app1:');
        for (const master of masters) expect(master.cli('--scan', '--pattern', `${prefix}{d:*}`).trim()).toBe('');
      } finally {
        await close();
      }
    });

    it('is kind "redis-cluster" and reloads its scripts on every node after SCRIPT FLUSH', async () => {
      const { store, engine, close } = await open();
      try {
        expect(store.kind).toBe('redis-cluster');
        // Users in many buckets, so that every master runs the scripts.
        const issued = await Promise.all(Array.from({ length: 30 }, (_, i) => engine.createSession({ userId: `flush-${i}` })));
        for (const node of cluster.nodes) node.cli('script', 'flush');
        const refreshed = await Promise.all(issued.map((t) => engine.refresh(t.refreshToken)));
        expect(refreshed.every((t) => t.session.refresh.generation === 1)).toBe(true);
        for (const node of cluster.nodes) node.cli('script', 'flush');
        expect(await engine.revoke(issued[0]!.session.sid)).toBe(true);
      } finally {
        await close();
      }
    });

    // Last in the file: it leaves the cluster with one node dead.
    it('a master killed mid-operation: calls on its slots fail with store_unavailable in bounded time, then resume on the promoted replica with no restart', async () => {
      const { store, engine, prefix, close } = await open();
      try {
        const t = await engine.createSession({ userId: 'failover' });
        const key = `${prefix}{b:${userShard('failover')[0]}}:s:${t.session.sid}`;
        const master = cluster.masterOf(key);
        await cluster.caughtUpReplicaOf(master);

        master.pause();
        const started = performance.now();
        const inFlight = await store.getSession(t.session.sid).catch((e: unknown) => e);
        expect((inFlight as TesseraError).code).toBe('store_unavailable');
        expect(performance.now() - started).toBeLessThan(COMMAND_TIMEOUT + 1000);
        await master.kill();
        await expectCode(engine.refresh(t.refreshToken), 'store_unavailable');

        // The replica is promoted after the node timeout; the client finds it without a restart.
        await until(async () => (await store.getSession(t.session.sid).catch(() => null))?.sid === t.session.sid, 20_000);
        const next = await engine.refresh(t.refreshToken);
        expect(next.session.refresh.generation).toBe(1);
        expect(await engine.revoke(t.session.sid)).toBe(true);
        await expectCode(engine.verify(next.accessToken), 'session_revoked');
        await until(() => engine.verifier.feedHealthy, 10_000);
      } finally {
        await close();
      }
    }, 60_000);
  });
});
