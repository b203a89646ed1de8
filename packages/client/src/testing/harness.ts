/**
 * Real-browser test harness: a real Tessera service (`buildServer` from packages/server on the
 * memory store, short token lifetimes) that also serves the test pages and the SDK bundled by
 * esbuild, from the same origin — so cookies, `Origin` checks and CSRF proofs are the real ones —
 * and Debian's Chromium driven by playwright-core (which never downloads a browser).
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { MemoryStore, type PolicyInput, type SessionEvent } from '@tessera/core';
import { buildServer, type TesseraServer } from '@tessera/server';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef0123456789';

/**
 * Whether the browser tests can run. Without Chromium they are skipped with a loud message, except
 * under CI=true, where a missing browser is a failure (the returned reason is thrown by the caller).
 */
export function chromiumAvailability(): { run: boolean; failure?: string } {
  if (existsSync(CHROMIUM)) return { run: true };
  const message = `${CHROMIUM} is missing: the real-browser tests of @tessera/client and @tessera/vue cannot run (apt-get install -y chromium)`;
  if (process.env.CI === 'true') return { run: true, failure: message };
  console.warn(`\n${'!'.repeat(100)}\n!! SKIPPED: ${message}\n${'!'.repeat(100)}\n`);
  return { run: false };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface TestService {
  /** `http://localhost:<port>`: the service and the test pages. */
  origin: string;
  /** The running server (a new one after `restart()`). */
  readonly server: TesseraServer;
  /** Every session event the engine emitted, in order (across restarts). */
  events: SessionEvent[];
  /** Requests that reached POST /v1/auth/refresh, with their status. */
  refreshRequests: { status: number; at: number }[];
  /** WebSocket upgrades of GET /v1/events. */
  eventSocketRequests: { at: number }[];
  createUser(username: string, password: string): Promise<string>;
  /** Stops the service (its sockets see 1001) and starts it again on the same port and store. */
  restart(downtimeMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface TestServiceOptions {
  policy?: PolicyInput;
  /** URL path → JavaScript served there (the bundles). */
  scripts: Record<string, string>;
  /** More routes for the test pages, registered before listen. */
  routes?: (server: TesseraServer) => void;
}

const here = fileURLToPath(new URL('.', import.meta.url));

/** Bundles a browser entry (TypeScript, workspace packages from source) into one IIFE. */
export async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: here,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    define: { 'process.env.NODE_ENV': '"production"', __VUE_OPTIONS_API__: 'true', __VUE_PROD_DEVTOOLS__: 'false', __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false' },
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export const PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>tessera test</title></head><body><div id="app"></div></body></html>';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startTestService(options: TestServiceOptions): Promise<TestService> {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  // One store for the service's whole life: a restart keeps sessions and signing keys, as SQLite would.
  const store = new MemoryStore();
  const events: SessionEvent[] = [];
  const refreshRequests: { status: number; at: number }[] = [];
  const eventSocketRequests: { at: number }[] = [];

  async function boot(): Promise<TesseraServer> {
    const server = await buildServer({
      store,
      closeStore: false,
      issuer: origin,
      audience: 'tessera-browser-tests',
      allowedOrigins: [origin],
      adminKey: ADMIN_KEY,
      policy: { maxSessionsPerUser: 0, ...options.policy },
      passwordHashParams: { ln: 10, r: 8, p: 1 },
      loginLimits: { perAccount: 0, perAddress: 0 },
      processMetrics: false,
    });
    server.tessera.engine.onEvent((event) => events.push(event));
    // WebSocket upgrades reach the Node server itself, not a Fastify route.
    server.server.on('upgrade', (request: { url?: string }) => {
      if (request.url === '/v1/events') eventSocketRequests.push({ at: Date.now() });
    });
    server.addHook('onResponse', async (request, reply) => {
      if (request.method === 'POST' && request.url === '/v1/auth/refresh') refreshRequests.push({ status: reply.statusCode, at: Date.now() });
    });
    // The test pages, from the service's own origin (registered before listen, as any Fastify route).
    server.get('/test/page.html', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
    for (const [path, code] of Object.entries(options.scripts)) {
      server.get(path, async (_request, reply) => reply.type('text/javascript; charset=utf-8').header('Cache-Control', 'no-store').send(code));
    }
    options.routes?.(server);
    await server.listen({ port, host: 'localhost' });
    return server;
  }

  let server = await boot();
  return {
    origin,
    get server() {
      return server;
    },
    events,
    refreshRequests,
    eventSocketRequests,
    async createUser(username, password) {
      return (await server.tessera.users.create(username, password)).id;
    },
    async restart(downtimeMs = 300) {
      await server.close();
      await sleep(downtimeMs);
      server = await boot();
    },
    async close() {
      await server.close();
      await store.close();
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds or `ms` pass; returns whether it held. */
export async function eventually(condition: () => Promise<boolean> | boolean, ms: number, every = 25): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > until) return false;
    await sleep(every);
  }
}
