/**
 * One suite of route-protection behaviour, run against each adapter (Express, Fastify, Hono) with
 * each verifier source: an in-process engine, and a remote verifier against a running service. Real
 * apps on loopback ports, real HTTP; nothing is mocked.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, MemoryStore } from '@tessera/core';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../../server/src/testing/helpers.js';
import type { AccessVerifier, ProtectOptions } from '../access.js';
import { expressAuth } from '../express/index.js';
import { fastifyAuth } from '../fastify/index.js';
import { honoAuth, type TesseraVariables } from '../hono/index.js';
import { createRemoteVerifier, type RemoteVerifier } from '../remote/remote-verifier.js';

export type Framework = 'express' | 'fastify' | 'hono';

export interface ProtectedApp {
  base: string;
  close(): Promise<void>;
}

/** A small app: public `/`, protected `/me`, `/admin` (needs role admin), `POST /orders`. */
export async function protectedApp(framework: Framework, options: ProtectOptions): Promise<ProtectedApp> {
  if (framework === 'express') {
    const auth = expressAuth(options);
    const app = express();
    app.get('/', (_req, res) => {
      res.json({ public: true });
    });
    app.get('/me', auth.protect(), (req, res) => {
      res.json(req.tessera);
    });
    app.get('/admin', auth.protect({ claims: { role: 'admin' } }), (req, res) => {
      res.json({ admin: req.tessera!.userId });
    });
    app.post('/orders', auth.protect(), (req, res) => {
      res.status(201).json({ by: req.tessera!.userId });
    });
    const server = createServer(app);
    return listening(server);
  }
  if (framework === 'fastify') {
    const auth = fastifyAuth(options);
    const app = Fastify();
    await app.register(auth.plugin);
    app.get('/', async () => ({ public: true }));
    app.get('/me', { onRequest: auth.protect() }, async (request) => request.tessera);
    app.get('/admin', { onRequest: auth.protect({ claims: { role: 'admin' } }) }, async (request) => ({ admin: request.tessera!.userId }));
    app.post('/orders', { onRequest: auth.protect() }, async (request, reply) => reply.code(201).send({ by: request.tessera!.userId }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
  }
  const auth = honoAuth(options);
  const app = new Hono<{ Variables: TesseraVariables }>();
  app.get('/', (c) => c.json({ public: true }));
  app.get('/me', auth.protect(), (c) => c.json(c.get('tessera')));
  app.get('/admin', auth.protect({ claims: { role: 'admin' } }), (c) => c.json({ admin: c.get('tessera').userId }));
  app.post('/orders', auth.protect(), (c) => c.json({ by: c.get('tessera').userId }, 201));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => closeServer(server) };
}

async function listening(server: Server): Promise<ProtectedApp> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}

/** Where tokens come from and how sessions are revoked, for each verifier source. */
interface Source {
  verifier: AccessVerifier;
  issue(userId: string, claims?: Record<string, unknown>): Promise<{ accessToken: string; sid: string }>;
  revoke(sid: string): Promise<void>;
  close(): Promise<void>;
}

async function inProcess(): Promise<Source> {
  const engine = await Engine.create({ store: new MemoryStore(), issuer: 'https://tessera.test', audience: 'app' });
  return {
    verifier: engine,
    async issue(userId, claims) {
      const issued = await engine.createSession({ userId, ...(claims ? { claims } : {}) });
      return { accessToken: issued.accessToken, sid: issued.session.sid };
    },
    async revoke(sid) {
      await engine.revoke(sid, 'logout');
    },
    close: () => engine.close(),
  };
}

async function remote(): Promise<Source & { service: TestServer; remote: RemoteVerifier }> {
  const service = await startTestServer(new MemoryStore({ heartbeatInterval: 100 }));
  const base = await service.listen();
  const verifier = await createRemoteVerifier({ url: base, adminKey: ADMIN_KEY, issuer: 'https://tessera.test', audience: 'tessera-tests', clock: service.clock });
  return {
    service,
    remote: verifier,
    verifier,
    async issue(userId, claims) {
      const created = await service.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId, ...(claims ? { claims } : {}) } });
      return { accessToken: created.body.accessToken, sid: created.body.session.id };
    },
    async revoke(sid) {
      const reply = await service.call({ method: 'DELETE', url: `/v1/admin/sessions/${sid}`, token: ADMIN_KEY });
      expect(reply.status).toBe(204);
    },
    async close() {
      verifier.close();
      await service.close();
    },
  };
}

async function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET') {
  const response = await fetch(`${base}${path}`, { method, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as any) : undefined };
}

export function runProtectionSuite(framework: Framework): void {
  for (const kind of ['in-process engine', 'remote verifier'] as const) {
    describe(`${framework} protection, ${kind}`, () => {
      let source: Source;
      let app: ProtectedApp;
      let cookieApp: ProtectedApp;
      beforeAll(async () => {
        source = kind === 'in-process engine' ? await inProcess() : await remote();
        app = await protectedApp(framework, { verifier: source.verifier });
        cookieApp = await protectedApp(framework, { verifier: source.verifier, cookie: true });
      });
      afterAll(async () => {
        await app?.close();
        await cookieApp?.close();
        await source?.close();
      });

      it('passes a valid Bearer token and puts {userId, sessionId, claims} on the request', async () => {
        expect((await get(app.base, '/')).body).toEqual({ public: true });
        const { accessToken, sid } = await source.issue('alice', { role: 'editor', tenant: 't1' });
        const me = await get(app.base, '/me', { authorization: `Bearer ${accessToken}` });
        expect(me.status).toBe(200);
        expect(me.body).toMatchObject({ userId: 'alice', sessionId: sid, claims: { sub: 'alice', sid, role: 'editor', tenant: 't1' } });
        expect(Object.keys(me.body).sort()).toEqual(['claims', 'sessionId', 'userId']);
        // RFC 6750 §2.1 (after RFC 9110 §11.1): the scheme is case-insensitive.
        expect((await get(app.base, '/me', { authorization: `bearer ${accessToken}` })).status).toBe(200);
        expect((await get(app.base, '/me', { authorization: `BEARER  ${accessToken}` })).status).toBe(200);
      });

      it('401 without credentials: the contract body, a Bearer challenge with no error code (RFC 6750 §3.1)', async () => {
        for (const headers of [{}, { authorization: 'Basic YWxpY2U6cGFzcw==' }, { authorization: 'Bearer' }] as Record<string, string>[]) {
          const reply = await get(app.base, '/me', headers);
          expect(reply.status).toBe(401);
          expect(reply.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
          expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="tessera"');
          expect(reply.headers.get('cache-control')).toBe('no-store');
          expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
        }
      });

      it('401 invalid_token for a bad token, with error="invalid_token"', async () => {
        const { accessToken } = await source.issue('bob');
        const forged = accessToken.slice(0, -4) + (accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA');
        for (const token of ['garbage', 'a.b.c', `${accessToken}=`, forged]) {
          const reply = await get(app.base, '/me', { authorization: `Bearer ${token}` });
          expect(reply.status).toBe(401);
          expect(reply.body.error.code).toBe('invalid_token');
          expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="tessera", error="invalid_token"');
        }
      });

      it('per-route claim requirements: 403 forbidden with error="insufficient_scope"', async () => {
        const user = await source.issue('carol', { role: 'user' });
        const admin = await source.issue('dave', { role: 'admin' });
        const denied = await get(app.base, '/admin', { authorization: `Bearer ${user.accessToken}` });
        expect(denied.status).toBe(403);
        expect(denied.body.error.code).toBe('forbidden');
        expect(denied.headers.get('www-authenticate')).toBe('Bearer realm="tessera", error="insufficient_scope"');
        const allowed = await get(app.base, '/admin', { authorization: `Bearer ${admin.accessToken}` });
        expect(allowed).toMatchObject({ status: 200, body: { admin: 'dave' } });
      });

      it('a revoked session is refused on its next request (401 session_revoked)', async () => {
        const { accessToken, sid } = await source.issue('erin');
        expect((await get(app.base, '/me', { authorization: `Bearer ${accessToken}` })).status).toBe(200);
        await source.revoke(sid);
        const revokedAt = performance.now();
        let reply = await get(app.base, '/me', { authorization: `Bearer ${accessToken}` });
        let requests = 1;
        while (reply.status === 200 && performance.now() - revokedAt < 2000) {
          reply = await get(app.base, '/me', { authorization: `Bearer ${accessToken}` });
          requests++;
        }
        expect(reply.status).toBe(401);
        expect(reply.body.error.code).toBe('session_revoked');
        // In process, the very next request; remotely, within the feed's delay.
        if (kind === 'in-process engine') expect(requests).toBe(1);
        else expect(performance.now() - revokedAt).toBeLessThan(1000);
      });

      it('the access-token cookie, only where the app asks, with a CSRF proof for unsafe methods', async () => {
        const { accessToken } = await source.issue('frank');
        const cookie = `__Host-tessera_access=${accessToken}`;
        expect((await get(app.base, '/me', { cookie })).status).toBe(401);
        const me = await get(cookieApp.base, '/me', { cookie });
        expect(me).toMatchObject({ status: 200, body: { userId: 'frank' } });
        const unproven = await get(cookieApp.base, '/orders', { cookie }, 'POST');
        expect(unproven.status).toBe(403);
        expect(unproven.body.error.code).toBe('forbidden');
        expect((await get(cookieApp.base, '/orders', { cookie, 'x-tessera-csrf': '1' }, 'POST')).status).toBe(201);
        // A Bearer header needs no proof, and wins over a cookie.
        expect((await get(cookieApp.base, '/orders', { authorization: `Bearer ${accessToken}` }, 'POST')).status).toBe(201);
        const badHeader = await get(cookieApp.base, '/me', { cookie, authorization: 'Bearer not.a.token' });
        expect(badHeader.body.error.code).toBe('invalid_token');
      });
    });
  }

  describe(`${framework} protection fails closed`, () => {
    it('503 store_unavailable when the verifier cannot check revocations (stale feed, fallback reject)', async () => {
      let silentFor = 0;
      const engine = await Engine.create({
        store: new MemoryStore(),
        issuer: 'https://tessera.test',
        audience: 'app',
        policy: { feedFallback: 'reject' },
        monotonic: () => performance.now() + silentFor,
      });
      const app = await protectedApp(framework, { verifier: engine });
      try {
        const { accessToken } = await engine.createSession({ userId: 'gina' });
        expect((await get(app.base, '/me', { authorization: `Bearer ${accessToken}` })).status).toBe(200);
        silentFor = 60_000;
        const reply = await get(app.base, '/me', { authorization: `Bearer ${accessToken}` });
        expect(reply.status).toBe(503);
        expect(reply.body).toEqual({ error: { code: 'store_unavailable', message: expect.any(String) } });
      } finally {
        await app.close();
        await engine.close();
      }
    });
  });
}
