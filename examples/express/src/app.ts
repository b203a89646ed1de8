/**
 * A small Express app with Tessera: a public `/`, a protected `/me`, and the session API (login,
 * refresh, logout, sessions, events) mounted in the same app. Sessions live in memory here; pass a
 * durable store (`new SqliteStore({ path })` from @tessera/sqlite, `openRedisStore(url)`) to keep them.
 */
import express from 'express';
import { MemoryStore, type SessionStore } from '@tessera/core';
import { expressAuth, expressSessionApi } from '@tessera/node/express';

export interface ExampleOptions {
  store?: SessionStore;
  /** A demo user to create (username, password of at least 12 characters). */
  demoUser?: { username: string; password: string };
}

export async function createApp(options: ExampleOptions = {}) {
  // One engine, shared by the API and by route protection: a logout is refused by /me at once.
  const api = await expressSessionApi({ store: options.store ?? new MemoryStore(), issuer: 'http://localhost:3000', audience: 'example' });
  if (options.demoUser) await api.service.users.create(options.demoUser.username, options.demoUser.password);
  const auth = expressAuth({ verifier: api.engine });

  const app = express();
  app.use(api.middleware);
  app.get('/', (_req, res) => {
    res.json({ hello: 'world', signIn: 'POST /v1/auth/login {"username","password","transport":"header"}' });
  });
  app.get('/me', auth.protect(), (req, res) => {
    res.json({ userId: req.tessera!.userId, sessionId: req.tessera!.sessionId });
  });
  return { app, api };
}
