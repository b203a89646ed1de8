export { PostgresStore, type PostgresStoreOptions } from './postgres-store.js';
export { PostgresRevocationFeed } from './revocation-feed.js';
export { openPostgresStore } from './open-postgres-store.js';
export { MIGRATIONS, LATEST_VERSION, type Migration } from './migrations.js';
