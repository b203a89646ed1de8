/**
 * What each contender app authenticates with, apart from the framework: the same pieces, wired into
 * Express, Fastify and Hono by the three app scripts beside this file, each in the way that
 * framework's users would write it.
 *
 * Settings come from the runner (parts/requests.ts), in the environment: BENCH_REDIS_URL, and for
 * Tessera and jose BENCH_SERVICE_URL, BENCH_ADMIN_KEY, BENCH_ISSUER, BENCH_AUDIENCE; contenders that
 * own their sessions (better-auth, express-session) make BENCH_USERS of them at start and hand their
 * credentials back in the `ready` message.
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { redisStorage } from '@better-auth/redis-storage';
import { Redis } from 'ioredis';
import { Engine } from '@tessera/core';
import { RedisStore } from '@tessera/redis';
import { createRemoteVerifier, type AccessVerifier } from '@tessera/node';
import { setting } from './ipc.js';

export const AUTHS = ['none', 'passthrough', 'tessera', 'tessera-remote', 'jose', 'better-auth', 'express-session', 'fastify-session'] as const;
export type Auth = (typeof AUTHS)[number];

export function authOf(arg: string | undefined, allowed: readonly Auth[]): Auth {
  if (!allowed.includes(arg as Auth)) throw new Error(`usage: <app> ${allowed.join('|')} (got ${arg})`);
  return arg as Auth;
}

/** Request headers, one set per user: what the load generator cycles through. */
export type Credentials = Record<string, string>[];

export const users = (): number => Number(setting('BENCH_USERS'));

/**
 * Tessera's verifier: in process (an engine on the same Redis as `tessera serve`: the keys and the
 * revocation feed are the store's), or remote (the service's JWKS and revocation stream).
 */
export async function tesseraVerifier(kind: 'tessera' | 'tessera-remote'): Promise<AccessVerifier> {
  const issuer = setting('BENCH_ISSUER');
  const audience = setting('BENCH_AUDIENCE');
  if (kind === 'tessera') return Engine.create({ store: await RedisStore.connect({ url: setting('BENCH_REDIS_URL') }), issuer, audience });
  return createRemoteVerifier({ url: setting('BENCH_SERVICE_URL'), adminKey: setting('BENCH_ADMIN_KEY'), issuer, audience });
}

/**
 * A bare `jwtVerify` per request, against the service's JWKS (jose's remote key set, which fetches
 * once and caches): what stateless JWT verification costs, and all it can check — no revocation.
 */
export function joseVerifier(): (authorization: string | undefined) => Promise<string | null> {
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', setting('BENCH_SERVICE_URL')));
  const options = { algorithms: ['EdDSA'], issuer: setting('BENCH_ISSUER'), audience: setting('BENCH_AUDIENCE') };
  return async (authorization) => {
    if (!authorization?.startsWith('Bearer ')) return null;
    try {
      const { payload } = await jwtVerify(authorization.slice(7), jwks, options);
      return payload.sub ?? null;
    } catch {
      return null;
    }
  };
}

/**
 * better-auth with its official Redis secondary storage (@better-auth/redis-storage on ioredis):
 * sessions live only in Redis, users in the primary database (the memory adapter: the request path
 * never reads it). No cookie cache (better-auth's default): each request reads its session from
 * Redis, so that a revoked session is refused at once, as Tessera's are.
 */
export async function betterAuthContender(): Promise<{ auth: ReturnType<typeof createBetterAuth>; credentials: Credentials }> {
  const auth = createBetterAuth();
  const credentials: Credentials = [];
  for (let i = 0; i < users(); i++) {
    const { headers } = await auth.api.signUpEmail({
      body: { email: `user-${i}@bench.test`, password: 'correct horse battery staple', name: `user-${i}` },
      returnHeaders: true,
    });
    const cookie = headers.get('set-cookie')?.split(';')[0];
    if (!cookie) throw new Error('better-auth set no session cookie');
    credentials.push({ cookie });
  }
  return { auth, credentials };
}

function createBetterAuth() {
  return betterAuth({
    secret: 'bench-better-auth-secret-0123456789abcdefghijklmnop',
    baseURL: 'http://127.0.0.1',
    database: memoryAdapter({ user: [], session: [], account: [], verification: [] }),
    secondaryStorage: redisStorage({ client: new Redis(setting('BENCH_REDIS_URL')), keyPrefix: 'better-auth:' }),
    emailAndPassword: {
      enabled: true,
      // Only the set-up signs in (BENCH_USERS times); a quick hash keeps that short. The measured
      // request path never hashes a password.
      password: {
        hash: async (password) => createHash('sha256').update(password).digest('hex'),
        verify: async ({ hash, password }) => createHash('sha256').update(password).digest('hex') === hash,
      },
    },
    telemetry: { enabled: false },
  });
}
