/**
 * One of several processes multi-process.test.ts runs against one file: prints `ready`, waits for a
 * line on stdin so that every process starts at once, then logs `userId` in `count` times, printing
 * `created <sid>` or `rejected` for each.
 *
 *     node --conditions=source --import tsx src/login-child.ts <db path> <userId> <count> <evict-oldest|reject>
 */
import { once } from 'node:events';
import { Engine, isTesseraError } from '@tessera/core';
import { SqliteStore } from './index.js';

const [path, userId, count, onLimit] = process.argv.slice(2);
const store = new SqliteStore({ path: path! });
const engine = await Engine.create({
  store,
  issuer: 'https://tessera.test',
  audience: 'multi-process',
  policy: { maxSessionsPerUser: 3, onLimit: onLimit === 'reject' ? 'reject' : 'evict-oldest' },
});
process.stdout.write('ready\n');
await once(process.stdin, 'data');
process.stdin.destroy();
for (let i = 0; i < Number(count); i++) {
  try {
    const { session } = await engine.createSession({ userId: userId! });
    process.stdout.write(`created ${session.sid}\n`);
  } catch (error) {
    if (!isTesseraError(error, 'session_limit_reached')) throw error;
    process.stdout.write('rejected\n');
  }
}
await engine.close();
