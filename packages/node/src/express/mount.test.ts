/**
 * The HTTP contract suite of `tessera serve`, run against the API mounted in an Express app (memory
 * and SQLite stores): the same tests, the same behaviour.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { MemoryStore } from '@tessera/core';
import { openStore } from '@tessera/server/http';
import { runHttpContract } from '../../../server/src/testing/http-contract.js';
import { mountedApi } from '../testing/mounts.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-express-mount-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runHttpContract({ name: 'express mount, memory', open: async () => new MemoryStore({ heartbeatInterval: 100 }), start: mountedApi('express') });
runHttpContract({ name: 'express mount, sqlite', open: () => openStore(`sqlite:${join(dir, `t${++n}.db`)}`), start: mountedApi('express') });
