/**
 * The real `tessera serve` (the CLI, in a child process, from source) for the journeys, configured
 * only through its environment as an operator would, on SQLite or on a Redis server of its own. It
 * serves the built shop at `/` and the dashboard at `/admin/` from its own origin
 * (`http://localhost:<port>`, its default allowed origin): cookies, `Origin` checks and CSRF proofs
 * are the real ones.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, RedisServer } from '../../packages/redis/src/testing/redis-server.js';
import { serve } from '../../packages/server/src/testing/processes.js';

export const ADMIN_KEY = 'journeys-admin-key-0123456789abcdef0123456789';

export type StoreKind = 'sqlite' | 'redis';

export interface DemoService {
  /** `http://localhost:<port>`: the shop at `/`, the dashboard at `/admin/`, the API. */
  origin: string;
  store: StoreKind;
  /** What `tessera serve` printed. */
  stdout(): string;
  /** Creates a built-in user through the admin API; returns its id. */
  createUser(username: string, password: string): Promise<string>;
  /** A request to the admin API. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export interface DemoServiceOptions {
  store: StoreKind;
  /** TESSERA_MAX_SESSIONS_PER_USER. Default 10. */
  maxSessionsPerUser?: number;
}

export async function startDemoService(options: DemoServiceOptions): Promise<DemoService> {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    let storeUrl: string;
    if (options.store === 'redis') {
      const redis = await RedisServer.start();
      cleanups.push(() => redis.stop());
      storeUrl = redis.url;
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-journeys-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      storeUrl = `sqlite:${join(dir, 'tessera.db')}`;
    }
    const child = await serve({
      env: {
        TESSERA_STORE: storeUrl,
        TESSERA_PORT: String(port),
        TESSERA_HOST: 'localhost',
        TESSERA_ADMIN_KEY: ADMIN_KEY,
        TESSERA_MAX_SESSIONS_PER_USER: String(options.maxSessionsPerUser ?? 10),
        // The journeys sign in often, from one address.
        TESSERA_LOGIN_MAX_PER_ACCOUNT: '0',
        TESSERA_LOGIN_MAX_PER_ADDRESS: '0',
        TESSERA_DEMO_USER: 'false',
      },
    });
    cleanups.unshift(async () => void (await child.stop()));

    const admin = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(origin + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    };

    return {
      origin,
      store: options.store,
      stdout: child.stdout,
      admin,
      async createUser(username, password) {
        const created = await admin('POST', '/v1/admin/users', { username, password });
        if (created.status !== 201) throw new Error(`creating ${username}: ${created.status} ${JSON.stringify(created.body)}`);
        return created.body.id as string;
      },
      async close() {
        for (const cleanup of cleanups) await cleanup();
      },
    };
  } catch (error) {
    for (const cleanup of cleanups) await cleanup();
    throw error;
  }
}
