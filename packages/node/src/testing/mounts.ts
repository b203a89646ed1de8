/**
 * The session API mounted in a real Express, Fastify or Hono app, listening on a loopback port, as a
 * `ContractServer` of @tessera/server's contract suite: the suite that holds `tessera serve` to the
 * HTTP contract holds the mounts to it too. Requests go over real HTTP (Node's fetch), never through a
 * framework's injection helper. The app is set up as an app that wants the service's exact behaviour
 * would be: the API first, the contract's 404 last, the server attached (WebSocket, unparsable
 * requests), the operations endpoints on.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { ManualClock, type SessionStore } from '@tessera/core';
import { clientErrorHandler, silentLog, type HttpApiOptions } from '@tessera/server/http';
import type { ServerOptions } from '../../../server/src/server.js';
import { ADMIN_KEY, APP_ORIGIN, COOKIE_REQUEST_HEADERS, FAST_HASH, PASSWORD, type CallOptions, type ContractServer, type Reply } from '../../../server/src/testing/helpers.js';
import { expressSessionApi } from '../express/index.js';
import { fastifySessionApi } from '../fastify/index.js';
import { honoSessionApi } from '../hono/index.js';

export type Framework = 'express' | 'fastify' | 'hono';

const MAX_HEADER_SIZE = 16 * 1024;

/** The service's test settings (see the server's testing/helpers.ts), as options of the mounted API. */
function apiOptions(store: SessionStore, clock: ManualClock, options: Partial<ServerOptions>): HttpApiOptions {
  const o: Partial<ServerOptions> = {
    adminKey: ADMIN_KEY,
    allowedOrigins: [APP_ORIGIN],
    passwordHashParams: FAST_HASH,
    processMetrics: false,
    websocketAuthTimeout: 500,
    sseHeartbeatInterval: 200,
    ...options,
  };
  return {
    store,
    clock,
    issuer: 'https://tessera.test',
    audience: 'tessera-tests',
    operations: true,
    // As the service's tests run without a logger: expected failures (a closed store) stay quiet.
    log: silentLog,
    ...(o.policy ? { policy: o.policy } : {}),
    adminKey: o.adminKey ?? null,
    allowedOrigins: o.allowedOrigins ?? [],
    ...(o.loginLimits ? { loginLimits: o.loginLimits } : {}),
    ...(o.passwordHashParams ? { passwordHashParams: o.passwordHashParams } : {}),
    ...(o.processMetrics !== undefined ? { processMetrics: o.processMetrics } : {}),
    ...(o.websocketAuthTimeout !== undefined ? { websocketAuthTimeout: o.websocketAuthTimeout } : {}),
    ...(o.sseHeartbeatInterval !== undefined ? { sseHeartbeatInterval: o.sseHeartbeatInterval } : {}),
    ...(o.bodyLimit !== undefined ? { bodyLimit: o.bodyLimit } : {}),
    ...(o.sweepInterval !== undefined ? { sweepInterval: o.sweepInterval } : {}),
  };
}

/** A `start` for `runHttpContract`: the API mounted in an app of `framework`. */
export function mountedApi(framework: Framework) {
  return async function start(store: SessionStore, options: Partial<ServerOptions> = {}): Promise<ContractServer> {
    const clock = new ManualClock(Date.now());
    const settings = apiOptions(store, clock, options);
    let base: string;
    let engine: ContractServer['engine'];
    let users: { create(username: string, password: string): Promise<{ id: string }> };
    let stop: () => Promise<void>;

    if (framework === 'express') {
      const api = await expressSessionApi(settings);
      const app = express();
      app.use(api.middleware);
      app.use(api.notFound);
      const server = createServer({ maxHeaderSize: MAX_HEADER_SIZE }, app);
      api.attach(server);
      base = await listen(server);
      ({ engine, service: { users } } = api);
      stop = async () => {
        await api.close();
        await closeServer(server);
      };
    } else if (framework === 'fastify') {
      const api = await fastifySessionApi(settings);
      const app = Fastify({ clientErrorHandler, http: { maxHeaderSize: MAX_HEADER_SIZE } });
      await app.register(api.plugin);
      app.setNotFoundHandler(api.notFound);
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      ({ engine, service: { users } } = api);
      stop = () => app.close();
    } else {
      const api = await honoSessionApi(settings);
      const app = new Hono();
      app.use(api.middleware);
      app.notFound(api.notFound);
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', serverOptions: { maxHeaderSize: MAX_HEADER_SIZE } }) as Server;
      api.attach(server);
      await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      ({ engine, service: { users } } = api);
      stop = async () => {
        await api.close();
        await closeServer(server);
      };
    }

    return {
      clock,
      store,
      engine,
      async user(username, password = PASSWORD) {
        return (await users.create(username, password)).id;
      },
      call: (o) => call(base, o),
      listen: async () => base,
      close: stop,
    };
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections of the test client would hold the server open for their timeout.
  server.closeAllConnections();
  await closed;
}

/** The contract suite's `call`, over real HTTP. */
export async function call(base: string, o: CallOptions): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (o.cookie !== undefined) {
    if (o.csrf !== false) Object.assign(headers, COOKIE_REQUEST_HEADERS);
    headers.cookie = `__Host-tessera_refresh=${o.cookie}`;
  }
  if (o.body !== undefined) headers['content-type'] ??= 'application/json';
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  Object.assign(headers, o.headers);
  const payload = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  const response = await fetch(`${base}${o.url}`, { method: o.method, headers, ...(payload === undefined ? {} : { body: payload }), redirect: 'manual' });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const replyHeaders: Reply['headers'] = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') replyHeaders[name] = value;
  });
  const setCookies = response.headers.getSetCookie();
  if (setCookies.length > 0) replyHeaders['set-cookie'] = setCookies.length === 1 ? setCookies[0] : setCookies;
  return { status: response.status, headers: replyHeaders, body, text, cookies: setCookies.map(parseSetCookie) };
}

function parseSetCookie(header: string): Reply['cookies'][number] {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  const cookie: Reply['cookies'][number] = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() };
  for (const attribute of attributes) {
    const [name = '', value] = attribute.split('=');
    cookie[name.trim().toLowerCase()] = value === undefined ? true : value.trim();
  }
  return cookie;
}
