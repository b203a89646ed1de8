import { runSessionDataConformance, runStoreConformance } from '@tessera/core/conformance';
import { describe, it } from 'vitest';
import { PostgresStore } from './postgres-store.js';
import { createTestDatabase } from './testing/database.js';

const db = await createTestDatabase('conformance');
let schemas = 0;

if (db) {
  runStoreConformance({
    name: 'postgres',
    // Every store on a fresh schema of this file's database.
    open: () => PostgresStore.connect({ connectionString: db.url, schema: `conformance_${++schemas}`, heartbeatInterval: 100 }),
    // Another pool and another listening connection on the same schema, as a second process would have.
    reopen: (store) => PostgresStore.connect({ connectionString: db.url, schema: (store as PostgresStore).schema, heartbeatInterval: 100 }),
  });
  runSessionDataConformance({
    name: 'postgres',
    open: () => PostgresStore.connect({ connectionString: db.url, schema: `session_data_${++schemas}`, heartbeatInterval: 100 }),
    reopen: (store) => PostgresStore.connect({ connectionString: db.url, schema: (store as PostgresStore).schema, heartbeatInterval: 100 }),
    cleanup: () => db.drop(),
  });
} else {
  describe.skip('store conformance: postgres (no PostgreSQL server)', () => it('needs a server', () => {}));
}
