export { RedisStore, type RedisStoreOptions } from './store.js';
export { openRedisStore, parseRedisUrl } from './open.js';
export { RedisRevocationFeed } from './feed.js';
export type { RedisTarget } from './connection.js';
