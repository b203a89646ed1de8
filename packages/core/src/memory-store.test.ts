import { runSessionDataConformance, runStoreConformance } from './conformance/index.js';
import { MemoryStore } from './memory-store.js';

runStoreConformance({
  name: 'memory',
  open: async () => new MemoryStore({ heartbeatInterval: 100 }),
  reopen: async (store) => store,
});

runSessionDataConformance({
  name: 'memory',
  open: async () => new MemoryStore({ heartbeatInterval: 100 }),
  reopen: async (store) => store,
});
