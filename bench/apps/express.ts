/**
 * The benchmark's Express app: `GET /me` answers `{userId}` of the caller, protected by the
 * contender named on the command line (`none`: no authentication, the ceiling).
 *
 *   node --conditions=source --import tsx bench/apps/express.ts <none|passthrough|tessera|tessera-remote|jose|better-auth|express-session>
 *
 * Started by the runner (parts/requests.ts), which passes its settings in the environment.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { fromNodeHeaders } from 'better-auth/node';
import { expressAuth } from '@tessera/node/express';
import { AUTHS, authOf, betterAuthContender, joseVerifier, tesseraVerifier, users, type Credentials } from './contenders.js';
import { ready, setting } from './ipc.js';

const auth = authOf(process.argv[2], AUTHS);
const app = express();
let credentials: Credentials | undefined;

if (auth === 'none') {
  app.get('/me', (_req, res) => {
    res.json({ userId: 'anonymous' });
  });
} else if (auth === 'passthrough') {
  // What any middleware costs in front of the route: the floor under every authentication middleware.
  app.get(
    '/me',
    (_req, _res, next) => next(),
    (_req, res) => {
      res.json({ userId: 'anonymous' });
    },
  );
} else if (auth === 'tessera' || auth === 'tessera-remote') {
  const tessera = expressAuth({ verifier: await tesseraVerifier(auth) });
  app.get('/me', tessera.protect(), (req, res) => {
    res.json({ userId: req.tessera!.userId });
  });
} else if (auth === 'jose') {
  const verify = joseVerifier();
  app.get('/me', (req, res, next) => {
    verify(req.headers.authorization).then((userId) => {
      if (userId === null) res.status(401).json({ error: 'unauthorized' });
      else res.json({ userId });
    }, next);
  });
} else if (auth === 'better-auth') {
  const contender = await betterAuthContender();
  credentials = contender.credentials;
  app.get('/me', (req, res, next) => {
    contender.auth.api.getSession({ headers: fromNodeHeaders(req.headers) }).then((found) => {
      if (!found) res.status(401).json({ error: 'unauthorized' });
      else res.json({ userId: found.user.id });
    }, next);
  });
} else {
  // express-session + connect-redis as their READMEs set them up (node-redis client), with the
  // settings most apps use: no resave, no uninitialized sessions, a week-long cookie.
  const client = createClient({ url: setting('BENCH_REDIS_URL') });
  await client.connect();
  const store = new RedisStore({ client, prefix: 'sess:' });
  const secret = 'bench-express-session-secret-0123456789';
  const cookie = { maxAge: 7 * 24 * 3_600_000, httpOnly: true, sameSite: 'strict' as const };
  app.use(session({ store, secret, resave: false, saveUninitialized: false, cookie }));
  app.get('/me', (req, res) => {
    const userId = (req.session as { userId?: string }).userId;
    if (!userId) res.status(401).json({ error: 'unauthorized' });
    else res.json({ userId });
  });
  // Sessions as a login route would leave them: a uid-safe-sized id, the Cookie, the user.
  credentials = [];
  for (let i = 0; i < users(); i++) {
    const sid = randomBytes(24).toString('base64url');
    const data = { cookie: Object.assign(new session.Cookie(), cookie), userId: `user-${i}` };
    await store.set(sid, data as session.SessionData);
    credentials.push({ cookie: `connect.sid=${encodeURIComponent(`s:${signed(sid, secret)}`)}` });
  }
}

/** What express-session's cookie-signature does: `value.HMAC-SHA256(value)`, base64 without padding. */
function signed(value: string, secret: string): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')}`;
}

const server = app.listen(0, '127.0.0.1', () => ready({ port: (server.address() as AddressInfo).port, ...(credentials ? { credentials } : {}) }));
