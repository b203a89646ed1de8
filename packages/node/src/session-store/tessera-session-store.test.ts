/**
 * `TesseraSessionStore` under real express-session in a real Express app, over real HTTP (Node's
 * fetch against a listening server), on the memory store, SQLite, Redis and a Redis Cluster (real
 * redis-server processes; skipped loudly without redis-server, failed under CI=true).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import session, { type SessionData } from 'express-session';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, MemoryStore, TesseraError } from '@tessera/core';
import { RedisClusterServers, RedisServer, skipWithoutRedis } from '../../../redis/src/testing/redis-server.js';
import { createTestDatabase } from '../../../postgres/src/testing/database.js';
import { TesseraSessionStore, type TesseraSessionStoreOptions } from './tessera-session-store.js';

declare module 'express-session' {
  interface SessionData {
    count?: number;
    user?: string;
  }
}

const MINUTE = 60_000;

interface Browser {
  cookie: string | undefined;
  get(path: string): Promise<{ status: number; body: any; setCookie: string | null }>;
}

async function sessionApp(store: TesseraSessionStore, options: Partial<session.SessionOptions> = {}): Promise<{ browser(): Browser; close(): Promise<void> }> {
  const app = express();
  app.use(session({ secret: 'a test secret of some length', store, resave: false, saveUninitialized: false, cookie: { maxAge: MINUTE }, ...options }));
  app.get('/count', (req, res) => {
    req.session.count = (req.session.count ?? 0) + 1;
    res.json({ count: req.session.count, id: req.sessionID });
  });
  app.get('/peek', (req, res) => {
    res.json({ count: req.session.count ?? null, id: req.sessionID });
  });
  app.get('/regenerate', (req, res, next) => {
    const old = req.sessionID;
    req.session.regenerate((error) => (error ? next(error) : res.json({ old, id: req.sessionID })));
  });
  app.get('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })));
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    browser() {
      const browser: Browser = {
        cookie: undefined,
        async get(path) {
          const response = await fetch(`${base}${path}`, { headers: browser.cookie ? { cookie: browser.cookie } : {} });
          const setCookie = response.headers.get('set-cookie');
          if (setCookie) browser.cookie = setCookie.split(';')[0];
          return { status: response.status, body: await response.json(), setCookie };
        },
      };
      return browser;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function runSessionStoreSuite(name: string, backend: () => TesseraSessionStoreOptions['store']) {
  describe(`TesseraSessionStore on ${name}`, () => {
    const cleanups: (() => Promise<unknown>)[] = [];
    afterEach(async () => {
      for (const fn of cleanups.splice(0).reverse()) await fn();
    });

    async function store(options: Partial<TesseraSessionStoreOptions> = {}): Promise<TesseraSessionStore> {
      const s = new TesseraSessionStore({ store: backend(), prefix: `p${Math.random().toString(36).slice(2)}:`, ...options });
      cleanups.push(() => s.close());
      await s.ready();
      return s;
    }

    async function app(s: TesseraSessionStore, options: Partial<session.SessionOptions> = {}) {
      const a = await sessionApp(s, options);
      cleanups.push(() => a.close());
      return a;
    }

    it('keeps a session across requests, under its cookie', async () => {
      const s = await store();
      const a = await app(s);
      const alice = a.browser();
      const first = await alice.get('/count');
      expect(first.body.count).toBe(1);
      expect(first.setCookie).toMatch(/^connect\.sid=/);
      expect((await alice.get('/count')).body).toEqual({ count: 2, id: first.body.id });
      expect((await alice.get('/peek')).body).toEqual({ count: 2, id: first.body.id });
      const stored = await s.get(first.body.id);
      expect(stored).toMatchObject({ count: 2, cookie: { originalMaxAge: MINUTE, httpOnly: true, path: '/' } });
      expect(Date.parse(String(stored!.cookie.expires)) - Date.now()).toBeGreaterThan(MINUTE - 5000);
      // Another browser is another session.
      const bob = a.browser();
      expect((await bob.get('/count')).body.count).toBe(1);
      expect(await s.length()).toBe(2);
    });

    it('expires a session when its cookie does (ms TTL from cookie.maxAge)', async () => {
      const s = await store();
      const a = await app(s, { cookie: { maxAge: 150 } });
      const carol = a.browser();
      const first = await carol.get('/count');
      expect(await s.length()).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(await s.get(first.body.id)).toBeNull();
      expect(await s.length()).toBe(0);
      expect(await s.all()).toEqual({});
      const again = await carol.get('/count');
      expect(again.body.count).toBe(1);
      expect(again.body.id).not.toBe(first.body.id);
    });

    it('touch (resave: false) rewrites the stored expiry, which get then reports as cookie.expires', async () => {
      const s = await store();
      const a = await app(s, { rolling: true });
      const dave = a.browser();
      const first = await dave.get('/count');
      const before = Date.parse(String((await s.get(first.body.id))!.cookie.expires));
      await new Promise((resolve) => setTimeout(resolve, 60));
      await dave.get('/peek'); // unmodified: express-session touches instead of saving
      const after = Date.parse(String((await s.get(first.body.id))!.cookie.expires));
      expect(after).toBeGreaterThan(before);
      expect((await s.get(first.body.id))!.count).toBe(1);
    });

    it('destroy and regenerate go through the store', async () => {
      const s = await store();
      const a = await app(s);
      const erin = a.browser();
      const first = await erin.get('/count');
      const regenerated = await erin.get('/regenerate');
      expect(regenerated.body.old).toBe(first.body.id);
      expect(await s.get(first.body.id)).toBeNull();
      await erin.get('/count');
      expect(await s.length()).toBe(1);
      await erin.get('/logout');
      expect(await s.length()).toBe(0);
    });

    it('each prefix sees only its own sessions: get, all, length, clear', async () => {
      const one = await store({ prefix: 'app1:' });
      const two = await store({ prefix: 'app2:' });
      const oneApp = await app(one);
      const twoApp = await app(two);
      const a = await oneApp.browser().get('/count');
      await oneApp.browser().get('/count');
      const b = await twoApp.browser().get('/count');
      expect(await one.length()).toBe(2);
      expect(await two.length()).toBe(1);
      expect(Object.keys(await one.all()).sort()).not.toContain(b.body.id);
      expect(await two.get(a.body.id)).toBeNull();
      await one.clear();
      expect(await one.length()).toBe(0);
      expect(await two.length()).toBe(1);
      expect((await two.get(b.body.id))?.count).toBe(1);
      await two.clear();
    });

    it('every method takes a callback as well as returning a promise', async () => {
      const s = await store();
      const data = { cookie: { originalMaxAge: MINUTE, expires: new Date(Date.now() + MINUTE), httpOnly: true, path: '/' }, user: 'frank' } as unknown as SessionData;
      const call = <T>(fn: (cb: (error: unknown, value?: T) => void) => void) =>
        new Promise<T | undefined>((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));
      await call<void>((cb) => s.set('cb-1', data, cb));
      expect((await call<SessionData | null>((cb) => s.get('cb-1', cb)))?.user).toBe('frank');
      expect(await call<number>((cb) => s.length(cb))).toBe(1);
      expect(Object.keys((await call<Record<string, SessionData>>((cb) => s.all(cb)))!)).toEqual(['cb-1']);
      await call<void>((cb) => s.touch('cb-1', data, cb));
      await call<void>((cb) => s.destroy('cb-1', cb));
      expect(await call<SessionData | null>((cb) => s.get('cb-1', cb))).toBeNull();
      await s.set('cb-2', data);
      await call<void>((cb) => s.clear(cb));
      expect(await s.length()).toBe(0);
      // Express-session's Store methods built on get work too.
      await s.set('cb-3', data);
      const loaded = await call<SessionData>((cb) => s.load('cb-3', cb));
      expect(loaded?.cookie.expires).toBeInstanceOf(Date);
    });

    it('sessions without a cookie expiry live `ttl`; an already expired cookie is not stored', async () => {
      const clock = new ManualClock(Date.now());
      const s = await store({ ttl: 5000, clock });
      await s.set('no-cookie', { foo: 'bar' } as unknown as SessionData);
      await s.set('browser-session', { cookie: { originalMaxAge: null, expires: null, path: '/' } } as unknown as SessionData);
      expect(await s.get('no-cookie')).toEqual({ foo: 'bar' });
      expect((await s.get('browser-session'))?.cookie.expires).toBeNull();
      clock.advance(5000);
      expect(await s.get('no-cookie')).toBeNull();
      expect(await s.length()).toBe(0);
      await s.set('past', { cookie: { originalMaxAge: 1, expires: new Date(clock.now() - 1), path: '/' } } as unknown as SessionData);
      expect(await s.get('past')).toBeNull();
    });

    it('reports backend failures to the callback (and the promise), as store_unavailable', async () => {
      const s = await store();
      await s.close();
      const error = await new Promise<unknown>((resolve) => s.get('x', (e) => resolve(e)));
      expect(error).toBeInstanceOf(TesseraError);
      expect((error as TesseraError).code).toBe('store_unavailable');
      await expect(s.length()).rejects.toMatchObject({ code: 'store_unavailable' });
    });
  });
}

// The memory store: one backend object, shared by every TesseraSessionStore of a test.
describe('memory', () => {
  const shared = new MemoryStore();
  afterAll(() => shared.close());
  runSessionStoreSuite('memory', () => shared);

  it('a URL opens its own backend (closed by close()); a given store stays the app’s', async () => {
    const owned = new TesseraSessionStore({ store: 'memory:' });
    await owned.set('k', { cookie: { expires: new Date(Date.now() + MINUTE) } } as unknown as SessionData);
    await owned.close();
    await expect(owned.get('k')).rejects.toMatchObject({ code: 'store_unavailable' });
    const given = new MemoryStore();
    const borrowed = new TesseraSessionStore({ store: given });
    await borrowed.close();
    await given.ping();
    await given.close();
    expect(() => new TesseraSessionStore({ store: 'memory:', ttl: -1 })).toThrow(/ttl/);
    const bad = new TesseraSessionStore({ store: 'mongodb://nope' });
    await expect(bad.ready()).rejects.toMatchObject({ code: 'invalid_config' });
  });
});

const dir = mkdtempSync(join(tmpdir(), 'tessera-session-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
runSessionStoreSuite('SQLite', () => `sqlite:${join(dir, 'sessions.db')}`);

const skip = skipWithoutRedis();

describe.skipIf(skip)('on one redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });
  runSessionStoreSuite('Redis', () => server.url);
});

describe.skipIf(skip)('on a Redis Cluster', () => {
  let cluster: RedisClusterServers;
  beforeAll(async () => {
    cluster = await RedisClusterServers.start({ masters: 3, replicas: 0 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  runSessionStoreSuite('Redis Cluster', () => cluster.storeUrl);
});

const pg = await createTestDatabase('express_session');
describe.skipIf(!pg)('on PostgreSQL', () => {
  afterAll(async () => {
    await pg?.drop();
  });
  runSessionStoreSuite('PostgreSQL', () => pg!.url);
});
