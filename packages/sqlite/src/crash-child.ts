/**
 * The process multi-process.test.ts kills: creates sessions until SIGKILL arrives, printing each sid
 * once its createSession has resolved (acknowledged). stdout is a pipe, and writes to pipes are
 * synchronous in Node on POSIX, so every printed sid was acknowledged before the next write began.
 *
 *     node --conditions=source --import tsx src/crash-child.ts <db path> <normal|full>
 */
import { Engine } from '@tessera/core';
import { SqliteStore } from './index.js';

const [path, synchronous] = process.argv.slice(2);
const store = new SqliteStore({ path: path!, synchronous: synchronous === 'full' ? 'full' : 'normal' });
// A limit of 5 over 10 users: most logins also evict, so the killed transactions are multi-row ones.
const engine = await Engine.create({ store, issuer: 'https://tessera.test', audience: 'crash', policy: { maxSessionsPerUser: 5 } });
for (let i = 0; ; i++) {
  const { session } = await engine.createSession({ userId: `user-${i % 10}` });
  process.stdout.write(`${session.sid}\n`);
}
