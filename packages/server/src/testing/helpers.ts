/**
 * Helpers for the service's tests: a server on a given store with test settings, an HTTP client on
 * `inject`, and real WebSocket and SSE clients on a listening socket. No mocks: every test talks
 * HTTP to the real service on a real store.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock, type Engine, type SessionStore } from '@tessera/core';
import WebSocket from 'ws';
import { buildServer, type ServerOptions, type TesseraServer } from '../server.js';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdefghijklmnop';
export const APP_ORIGIN = 'https://app.test';
export const PASSWORD = 'correct horse battery staple';
/** Cheap scrypt parameters so hundreds of logins stay fast; the production default is tested on its own. */
export const FAST_HASH = { ln: 10, r: 8, p: 1 } as const;

/** The headers a browser page of APP_ORIGIN sends on a cookie request through the SDK. */
export const COOKIE_REQUEST_HEADERS = {
  'content-type': 'application/json',
  'x-tessera-csrf': '1',
  origin: APP_ORIGIN,
} as const;

/**
 * A running implementation of the HTTP contract, as the contract suite drives it: the service here,
 * the Express, Fastify and Hono mounts of @tessera/node elsewhere.
 */
export interface ContractServer {
  clock: ManualClock;
  store: SessionStore;
  engine: Engine;
  /** Creates a built-in user with PASSWORD (or the given one); returns its id. */
  user(username: string, password?: string): Promise<string>;
  /** One request; the JSON body parsed. */
  call(options: CallOptions): Promise<Reply>;
  /** Listens on a loopback port (once) and returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface TestServer extends ContractServer {
  app: TesseraServer;
}

export interface CallOptions {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH' | 'OPTIONS';
  url: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON (with content-type application/json unless headers say otherwise). */
  body?: unknown;
  /** Raw body, sent as is. */
  raw?: string;
  /** Authorization: Bearer <token>. */
  token?: string;
  /** The refresh cookie to send (and, unless `csrf: false`, the cookie-request headers). */
  cookie?: string;
  csrf?: boolean;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: any;
  text: string;
  cookies: { name: string; value: string; [attribute: string]: unknown }[];
}

export async function startTestServer(store: SessionStore, options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const clock = new ManualClock(Date.now());
  const app = await buildServer({
    store,
    issuer: 'https://tessera.test',
    audience: 'tessera-tests',
    adminKey: ADMIN_KEY,
    allowedOrigins: [APP_ORIGIN],
    clock,
    passwordHashParams: FAST_HASH,
    processMetrics: false,
    websocketAuthTimeout: 500,
    sseHeartbeatInterval: 200,
    ...options,
  });
  let base: string | undefined;
  return {
    app,
    clock,
    store,
    engine: app.tessera.engine,
    close: () => app.close(),
    async user(username, password = PASSWORD) {
      return (await app.tessera.users.create(username, password)).id;
    },
    async call(o) {
      const headers: Record<string, string> = {};
      if (o.cookie !== undefined) {
        if (o.csrf !== false) Object.assign(headers, COOKIE_REQUEST_HEADERS);
        headers.cookie = `__Host-tessera_refresh=${o.cookie}`;
      }
      if (o.body !== undefined) headers['content-type'] ??= 'application/json';
      if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
      Object.assign(headers, o.headers);
      const payload = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
      const res = await app.inject({ method: o.method, url: o.url, headers, ...(payload === undefined ? {} : { payload }) });
      let body: unknown;
      try {
        body = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        body = undefined;
      }
      return { status: res.statusCode, headers: res.headers, body, text: res.body, cookies: res.cookies as Reply['cookies'] };
    },
    async listen() {
      if (!base) {
        await app.listen({ port: 0, host: '127.0.0.1' });
        base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      }
      return base;
    },
  };
}

/** Signs in over HTTP; returns the token response and, with the cookie transport, the refresh cookie. */
export async function login(
  server: ContractServer,
  username: string,
  options: { transport?: 'cookie' | 'header'; password?: string; device?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<{ accessToken: string; refreshToken: string; sid: string; body: any; reply: Reply }> {
  const transport = options.transport ?? 'header';
  const reply = await server.call({
    method: 'POST',
    url: '/v1/auth/login',
    headers: { ...(transport === 'cookie' ? COOKIE_REQUEST_HEADERS : {}), ...options.headers },
    body: { username, password: options.password ?? PASSWORD, transport, ...(options.device ? { device: options.device } : {}) },
  });
  if (reply.status !== 200) throw new Error(`login failed: ${reply.status} ${reply.text}`);
  const refreshToken = transport === 'cookie' ? reply.cookies.find((c) => c.name === '__Host-tessera_refresh')!.value : reply.body.refreshToken;
  return { accessToken: reply.body.accessToken, refreshToken, sid: reply.body.session.id, body: reply.body, reply };
}

export interface EventsClient {
  socket: WebSocket;
  messages: any[];
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string; at: number }>;
  /** Resolves when a message of `type` arrived. */
  next(type: string, timeout?: number): Promise<any>;
}

/** Opens /v1/events; sends `auth` with `accessToken` unless it is null. */
export async function openEvents(base: string, accessToken: string | null, firstMessage?: string): Promise<EventsClient> {
  const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/events`);
  const messages: any[] = [];
  const waiters: { type: string; resolve: (m: any) => void }[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString());
    messages.push({ ...message, receivedAt: performance.now() });
    for (const w of waiters.filter((w) => w.type === message.type)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(messages.at(-1));
    }
  });
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString(), at: performance.now() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  if (firstMessage !== undefined) socket.send(firstMessage);
  else if (accessToken !== null) socket.send(JSON.stringify({ type: 'auth', accessToken }));
  return {
    socket,
    messages,
    closed,
    next(type, timeout = 5000) {
      const found = messages.find((m) => m.type === type);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} message within ${timeout} ms`)), timeout);
        waiters.push({ type, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
  };
}

export interface SseClient {
  events: { event: string; data: any; id?: string }[];
  next(event: string, predicate?: (data: any) => boolean, timeout?: number): Promise<any>;
  close(): void;
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/** A minimal server-sent-events client over node:http. */
export function openSse(url: string, headers: Record<string, string>): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      const events: SseClient['events'] = [];
      const waiters: { event: string; predicate: (d: any) => boolean; resolve: (d: any) => void }[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const i = line.indexOf(':');
            if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trimStart();
          }
          if (!fields.event) continue;
          const parsed = { event: fields.event, data: fields.data ? JSON.parse(fields.data) : undefined, ...(fields.id ? { id: fields.id } : {}) };
          events.push(parsed);
          for (const w of waiters.filter((w) => w.event === parsed.event && w.predicate(parsed.data))) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(parsed.data);
          }
        }
      });
      resolve({
        events,
        status: res.statusCode ?? 0,
        headers: res.headers,
        close: () => req.destroy(),
        next(event, predicate = () => true, timeout = 5000) {
          const found = events.find((e) => e.event === event && predicate(e.data));
          if (found) return Promise.resolve(found.data);
          return new Promise((ok, fail) => {
            const timer = setTimeout(() => fail(new Error(`no ${event} event within ${timeout} ms`)), timeout);
            waiters.push({ event, predicate, resolve: (d) => (clearTimeout(timer), ok(d)) });
          });
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends a raw HTTP request (for what `inject` cannot do: oversized heads). Returns status and body. */
export function rawHttp(base: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
