import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSessionDataConformance, runStoreConformance } from '@tessera/core/conformance';
import { afterAll } from 'vitest';
import { SqliteStore } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'tessera-sqlite-conformance-'));
let opened = 0;
// Short intervals so that the feed's heartbeats and cross-handle polling are quick to observe.
const intervals = { heartbeatInterval: 50, pollInterval: 50 };

runStoreConformance({
  name: 'sqlite',
  // A directory per store that does not exist yet: the store creates it.
  open: async () => new SqliteStore({ path: join(root, String(++opened), 'tessera.db'), ...intervals }),
  // Another handle on the same file, as another process would open it: revocations reach it by polling.
  reopen: async (store) => new SqliteStore({ path: (store as SqliteStore).path, ...intervals }),
  feedDelay: 2000,
});

runSessionDataConformance({
  name: 'sqlite',
  open: async () => new SqliteStore({ path: join(root, String(++opened), 'tessera.db'), ...intervals }),
  reopen: async (store) => new SqliteStore({ path: (store as SqliteStore).path, ...intervals }),
});

// After both suites: the second one opens stores under the same root.
afterAll(() => rmSync(root, { recursive: true, force: true }));
