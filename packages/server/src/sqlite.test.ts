import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openStore } from './open-store.js';
import { runHttpContract } from './testing/http-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-server-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Through openStore, as `tessera serve` opens it: the sqlite: URL, a fresh file per test.
runHttpContract({ name: 'sqlite', open: () => openStore(`sqlite:${join(dir, `t${++n}.db`)}`) });
