import { afterAll, beforeAll, describe } from 'vitest';
import { runSessionDataConformance, runStoreConformance } from '@tessera/core/conformance';
import { RedisServer, skipWithoutRedis } from './testing/redis-server.js';
import { redisConformanceTarget } from './testing/targets.js';

const skip = skipWithoutRedis();

describe.skipIf(skip)('RedisStore on one redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  runStoreConformance(redisConformanceTarget('redis', () => ({ url: server.url })));
  runSessionDataConformance(redisConformanceTarget('redis', () => ({ url: server.url })));
});
