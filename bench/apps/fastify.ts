/**
 * The benchmark's Fastify app: `GET /me` answers `{userId}` of the caller, protected by the
 * contender named on the command line (`none`: no authentication, the ceiling).
 *
 *   node --conditions=source --import tsx bench/apps/fastify.ts <none|passthrough|tessera|tessera-remote|jose|better-auth|fastify-session>
 *
 * Started by the runner (parts/requests.ts), which passes its settings in the environment.
 */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { fromNodeHeaders } from 'better-auth/node';
import { fastifyAuth } from '@tessera/node/fastify';
import { authOf, betterAuthContender, joseVerifier, tesseraVerifier, users, type Credentials } from './contenders.js';
import { ready, setting } from './ipc.js';

declare module 'fastify' {
  interface Session {
    userId?: string;
  }
}

const auth = authOf(process.argv[2], ['none', 'passthrough', 'tessera', 'tessera-remote', 'jose', 'better-auth', 'fastify-session']);
const app = Fastify({ logger: false });
let credentials: Credentials | undefined;

if (auth === 'none') {
  app.get('/me', async () => ({ userId: 'anonymous' }));
} else if (auth === 'passthrough') {
  // What any hook costs in front of the route (an async onRequest hook, as Tessera's protect() is).
  app.get('/me', { onRequest: async () => undefined }, async () => ({ userId: 'anonymous' }));
} else if (auth === 'tessera' || auth === 'tessera-remote') {
  const tessera = fastifyAuth({ verifier: await tesseraVerifier(auth) });
  await app.register(tessera.plugin);
  app.get('/me', { onRequest: tessera.protect() }, async (request) => ({ userId: request.tessera!.userId }));
} else if (auth === 'jose') {
  const verify = joseVerifier();
  app.get('/me', async (request, reply) => {
    const userId = await verify(request.headers.authorization);
    if (userId === null) return reply.code(401).send({ error: 'unauthorized' });
    return { userId };
  });
} else if (auth === 'fastify-session') {
  // Fastify's express-session: @fastify/session (with @fastify/cookie) on connect-redis, set up as
  // the express-session contender is (no uninitialized sessions, a week-long cookie); its default
  // rolling expiry writes the session back on every response, as express-session's touch does.
  const client = createClient({ url: setting('BENCH_REDIS_URL') });
  await client.connect();
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    store: new RedisStore({ client, prefix: 'fsess:' }),
    secret: 'bench-fastify-session-secret-0123456789',
    saveUninitialized: false,
    cookie: { maxAge: 7 * 24 * 3_600_000, httpOnly: true, sameSite: 'strict', secure: false },
  });
  app.get('/me', async (request, reply) => {
    const userId = request.session.userId;
    if (!userId) return reply.code(401).send({ error: 'unauthorized' });
    return { userId };
  });
  // The login route an app would have; the runner's users sign in through it before the load starts.
  app.post<{ Querystring: { user: string } }>('/login', async (request) => {
    request.session.userId = `user-${request.query.user}`;
    return { ok: true };
  });
  credentials = [];
  for (let i = 0; i < users(); i++) {
    const login = await app.inject({ method: 'POST', url: `/login?user=${i}` });
    const cookie = String(login.headers['set-cookie']).split(';')[0] ?? '';
    if (login.statusCode !== 200 || !cookie.startsWith('sessionId=')) throw new Error(`@fastify/session login: ${login.statusCode} ${cookie}`);
    credentials.push({ cookie });
  }
} else {
  const contender = await betterAuthContender();
  credentials = contender.credentials;
  app.get('/me', async (request, reply) => {
    const found = await contender.auth.api.getSession({ headers: fromNodeHeaders(request.headers) });
    if (!found) return reply.code(401).send({ error: 'unauthorized' });
    return { userId: found.user.id };
  });
}

await app.listen({ port: 0, host: '127.0.0.1' });
ready({ port: (app.server.address() as AddressInfo).port, ...(credentials ? { credentials } : {}) });
