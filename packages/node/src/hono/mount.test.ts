/** The HTTP contract suite of `tessera serve`, run against the API mounted in a Hono app (@hono/node-server). */
import { MemoryStore } from '@tessera/core';
import { runHttpContract } from '../../../server/src/testing/http-contract.js';
import { mountedApi } from '../testing/mounts.js';

runHttpContract({ name: 'hono mount, memory', open: async () => new MemoryStore({ heartbeatInterval: 100 }), start: mountedApi('hono') });
