/**
 * A small Fastify app with Tessera: a public `/`, a protected `/me`, and the session API (login,
 * refresh, logout, sessions, events) registered in the same app. Sessions live in memory here; pass a
 * durable store (`new SqliteStore({ path })` from @tessera/sqlite, `openRedisStore(url)`) to keep them.
 */
import Fastify from 'fastify';
import { MemoryStore, type SessionStore } from '@tessera/core';
import { fastifyAuth, fastifySessionApi } from '@tessera/node/fastify';

export interface ExampleOptions {
  store?: SessionStore;
  /** A demo user to create (username, password of at least 12 characters). */
  demoUser?: { username: string; password: string };
}

export async function createApp(options: ExampleOptions = {}) {
  // One engine, shared by the API and by route protection: a logout is refused by /me at once.
  const api = await fastifySessionApi({ store: options.store ?? new MemoryStore(), issuer: 'http://localhost:3000', audience: 'example' });
  if (options.demoUser) await api.service.users.create(options.demoUser.username, options.demoUser.password);
  const auth = fastifyAuth({ verifier: api.engine });

  const app = Fastify();
  await app.register(api.plugin); // the API's routes and its events WebSocket; closed with the app
  await app.register(auth.plugin); // request.tessera
  app.get('/', async () => ({ hello: 'world', signIn: 'POST /v1/auth/login {"username","password","transport":"header"}' }));
  app.get('/me', { onRequest: auth.protect() }, async (request) => ({ userId: request.tessera!.userId, sessionId: request.tessera!.sessionId }));
  return app;
}
