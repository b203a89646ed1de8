/**
 * The benchmark's Hono app (on @hono/node-server): `GET /me` answers `{userId}` of the caller,
 * protected by the contender named on the command line (`none`: no authentication, the ceiling).
 *
 *   node --conditions=source --import tsx bench/apps/hono.ts <none|passthrough|tessera|tessera-remote|jose|better-auth>
 *
 * Started by the runner (parts/requests.ts), which passes its settings in the environment.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { honoAuth, type TesseraVariables } from '@tessera/node/hono';
import { authOf, betterAuthContender, joseVerifier, tesseraVerifier, type Credentials } from './contenders.js';
import { ready } from './ipc.js';

const auth = authOf(process.argv[2], ['none', 'passthrough', 'tessera', 'tessera-remote', 'jose', 'better-auth']);
const app = new Hono<{ Variables: TesseraVariables }>();
let credentials: Credentials | undefined;

if (auth === 'none') {
  app.get('/me', (c) => c.json({ userId: 'anonymous' }));
} else if (auth === 'passthrough') {
  // What any middleware costs in front of the route: Hono runs a lone handler without its compose().
  app.get(
    '/me',
    async (_c, next) => {
      await next();
    },
    (c) => c.json({ userId: 'anonymous' }),
  );
} else if (auth === 'tessera' || auth === 'tessera-remote') {
  const tessera = honoAuth({ verifier: await tesseraVerifier(auth) });
  app.get('/me', tessera.protect(), (c) => c.json({ userId: c.get('tessera').userId }));
} else if (auth === 'jose') {
  const verify = joseVerifier();
  app.get('/me', async (c) => {
    const userId = await verify(c.req.header('authorization'));
    if (userId === null) return c.json({ error: 'unauthorized' }, 401);
    return c.json({ userId });
  });
} else {
  const contender = await betterAuthContender();
  credentials = contender.credentials;
  app.get('/me', async (c) => {
    const found = await contender.auth.api.getSession({ headers: c.req.raw.headers });
    if (!found) return c.json({ error: 'unauthorized' }, 401);
    return c.json({ userId: found.user.id });
  });
}

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
  ready({ port: info.port, ...(credentials ? { credentials } : {}) }),
) as Server;
void server;
