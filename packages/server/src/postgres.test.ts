/**
 * The HTTP contract on PostgreSQL, with @tessera/postgres's test database helper (the local server,
 * or TESSERA_TEST_PG): a fresh schema per test. Skipped loudly without a server, unless CI=true.
 */
import { afterAll, describe, it } from 'vitest';
import { PostgresStore } from '../../postgres/src/postgres-store.js';
import { createTestDatabase } from '../../postgres/src/testing/database.js';
import { runHttpContract } from './testing/http-contract.js';

const db = await createTestDatabase('server');
let schemas = 0;

if (db) {
  afterAll(() => db.drop());
  runHttpContract({
    name: 'postgres',
    open: () => PostgresStore.connect({ connectionString: db.url, schema: `http_${++schemas}`, heartbeatInterval: 100 }),
  });
} else {
  describe.skip('HTTP contract: postgres (no PostgreSQL server)', () => it('needs a server', () => {}));
}
