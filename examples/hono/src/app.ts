/**
 * A small Hono app with Tessera: a public `/`, a protected `/me`, and the session API (login,
 * refresh, logout, sessions, events) mounted in the same app. Sessions live in memory here; pass a
 * durable store (`new SqliteStore({ path })` from @tessera/sqlite, `openRedisStore(url)`) to keep them.
 */
import { Hono } from 'hono';
import { MemoryStore, type SessionStore } from '@tessera/core';
import { honoAuth, honoSessionApi, type TesseraVariables } from '@tessera/node/hono';

export interface ExampleOptions {
  store?: SessionStore;
  /** A demo user to create (username, password of at least 12 characters). */
  demoUser?: { username: string; password: string };
}

export async function createApp(options: ExampleOptions = {}) {
  // One engine, shared by the API and by route protection: a logout is refused by /me at once.
  const api = await honoSessionApi({ store: options.store ?? new MemoryStore(), issuer: 'http://localhost:3000', audience: 'example' });
  if (options.demoUser) await api.service.users.create(options.demoUser.username, options.demoUser.password);
  const auth = honoAuth({ verifier: api.engine });

  const app = new Hono<{ Variables: TesseraVariables }>();
  app.use(api.middleware);
  app.get('/', (c) => c.json({ hello: 'world', signIn: 'POST /v1/auth/login {"username","password","transport":"header"}' }));
  app.get('/me', auth.protect(), (c) => c.json({ userId: c.get('tessera').userId, sessionId: c.get('tessera').sessionId }));
  return { app, api };
}
