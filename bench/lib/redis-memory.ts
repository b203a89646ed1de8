/**
 * Redis memory per live session: the `used_memory` delta over N sessions (one per user, indexes
 * included), for a fresh Tessera session and after one refresh, next to connect-redis storing an
 * ordinary express-session session (a Cookie and a passport user) for the same N users.
 *
 * It FLUSHes the server between steps: give it a redis-server of its own.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import session, { type SessionData } from 'express-session';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { RedisStore } from '@tessera/redis';
import { rate } from './load.js';
import { RETENTION, rotateInput, sessionRecord } from './records.js';

const DEVICE_LIMIT = 10;
const WEEK = 7 * 24 * 3_600_000;

export interface RedisMemory {
  sessions: number;
  /** Bytes per session: a fresh Tessera session (record + user index). */
  fresh: number;
  /** Bytes per session after one refresh (+ previous hash, sealed successor). */
  refreshed: number;
  /** Bytes per session: connect-redis, express-session Cookie + passport user. */
  connectRedis: number;
}

async function usedMemory(admin: ReturnType<typeof createClient>): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

export async function measureRedisMemory(url: string, sessions: number): Promise<RedisMemory> {
  const admin = createClient({ url });
  await admin.connect();
  try {
    await admin.flushAll();
    const store = await RedisStore.connect({ url, prefix: 'mem:' });
    const now = Date.now();
    // Warm up (scripts cached, structures allocated), then start counting from an empty keyspace.
    const warm = sessionRecord('warm-up', now);
    await store.createSession({ session: warm, maxSessions: DEVICE_LIMIT, onLimit: 'evict-oldest', now, retention: RETENTION });
    await admin.flushAll();
    const before = await usedMemory(admin);
    const live = Array.from({ length: sessions }, (_, i) => sessionRecord(`user-${i}`, now));
    await rate(sessions, 64, (i) => store.createSession({ session: live[i]!, maxSessions: DEVICE_LIMIT, onLimit: 'evict-oldest', now, retention: RETENTION }));
    const fresh = ((await usedMemory(admin)) - before) / sessions;
    await rate(sessions, 64, (i) => store.rotateRefresh(rotateInput(live[i]!, now + 1000)));
    const refreshed = ((await usedMemory(admin)) - before) / sessions;
    await store.close();

    await admin.flushAll();
    const client = createClient({ url });
    await client.connect();
    const peer = new ConnectRedisStore({ client, prefix: 'sess:' });
    const peerBefore = await usedMemory(admin);
    await rate(sessions, 64, async (i) => {
      // express-session's own shapes: a 24-byte uid-safe id, its Cookie, a passport user. (A Session
      // object serialises to the same JSON: its req and id are not enumerable.)
      const sid = randomBytes(24).toString('base64url');
      const cookie = new session.Cookie();
      Object.assign(cookie, { maxAge: WEEK, httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
      const data: SessionData & { passport: { user: string } } = { cookie, passport: { user: `user-${i}` } };
      await peer.set(sid, data);
    });
    const connectRedis = ((await usedMemory(admin)) - peerBefore) / sessions;
    await client.close();
    await admin.flushAll();
    return { sessions, fresh, refreshed, connectRedis };
  } finally {
    await admin.close().catch(() => undefined);
  }
}
