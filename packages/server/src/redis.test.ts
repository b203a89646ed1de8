/**
 * The HTTP contract on Redis and on a Redis Cluster, with @tessera/redis's own test servers (real
 * redis-server processes on free loopback ports). Skipped loudly when redis-server is missing,
 * unless CI=true.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { RedisClusterServers, RedisServer, skipWithoutRedis } from '../../redis/src/testing/redis-server.js';
import { redisConformanceTarget } from '../../redis/src/testing/targets.js';
import { runHttpContract } from './testing/http-contract.js';

const skip = skipWithoutRedis();

describe.skipIf(skip)('on one redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });
  // A fresh key prefix per test (the conformance target's `open`): tests never share counters or sessions.
  const target = redisConformanceTarget('redis', () => ({ url: server.url }));
  runHttpContract({ name: 'redis', open: () => target.open() });
});

describe.skipIf(skip)('on a Redis Cluster', () => {
  let cluster: RedisClusterServers;
  beforeAll(async () => {
    cluster = await RedisClusterServers.start({ masters: 3, replicas: 0 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  const target = redisConformanceTarget('redis-cluster', () => ({ cluster: cluster.urls }));
  runHttpContract({ name: 'redis-cluster', open: () => target.open() });
});
