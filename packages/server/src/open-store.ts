/**
 * `openStore(url)`: a session store from a URL (`TESSERA_STORE`).
 *
 *     sqlite:<path>              embedded, durable (default sqlite:./data/tessera.db)
 *     memory:                    in-process, lost on restart (tests, throw-away demos)
 *     redis://host:port          Redis (also rediss://)
 *     redis-cluster://h:p,h:p    Redis Cluster
 *     postgres://...             PostgreSQL (also postgresql://)
 *
 * The backends are separate packages, loaded only when their scheme is used: a service on SQLite
 * never loads node-redis or pg. The specifiers are not literals on purpose, so that this package
 * type-checks and builds without the optional backends.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MemoryStore, TesseraError, type SessionStore } from '@tessera/core';

export const DEFAULT_STORE_URL = 'sqlite:./data/tessera.db';

/** The scheme of a store URL, or null if it is not one we know. */
export function storeScheme(url: string): 'sqlite' | 'memory' | 'redis' | 'redis-cluster' | 'postgres' | null {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (url === 'memory:' || url === 'memory://') return 'memory';
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return 'redis';
  if (url.startsWith('redis-cluster://')) return 'redis-cluster';
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres';
  return null;
}

/** The file of a `sqlite:` URL: `sqlite:./data/x.db`, `sqlite:/abs/x.db`, `sqlite:///abs/x.db`. */
export function sqlitePath(url: string): string {
  let path = url.slice('sqlite:'.length);
  if (path.startsWith('//')) path = path.slice(2);
  if (!path) throw new TesseraError('invalid_config', 'TESSERA_STORE: a sqlite: URL needs a file path, e.g. sqlite:./data/tessera.db');
  return path;
}

export async function openStore(url: string = DEFAULT_STORE_URL): Promise<SessionStore> {
  switch (storeScheme(url)) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite': {
      const path = resolve(sqlitePath(url));
      mkdirSync(dirname(path), { recursive: true });
      const { SqliteStore } = await load<{ SqliteStore: new (options: { path: string }) => SessionStore }>('@tessera/sqlite', 'SqliteStore');
      return new SqliteStore({ path });
    }
    case 'redis':
    case 'redis-cluster': {
      const { openRedisStore } = await load<{ openRedisStore: (url: string) => Promise<SessionStore> }>('@tessera/redis', 'openRedisStore');
      return openRedisStore(url);
    }
    case 'postgres': {
      const { openPostgresStore } = await load<{ openPostgresStore: (url: string) => Promise<SessionStore> }>('@tessera/postgres', 'openPostgresStore');
      return openPostgresStore(url);
    }
    default:
      throw new TesseraError(
        'invalid_config',
        `TESSERA_STORE must be sqlite:<path>, memory:, redis://host:port, redis-cluster://host:port,... or postgres://..., got ${JSON.stringify(redactUrl(url))}`,
      );
  }
}

async function load<T>(specifier: string, exportName: keyof T & string): Promise<T> {
  let module: Record<string, unknown>;
  try {
    module = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new TesseraError('invalid_config', `TESSERA_STORE needs the package ${specifier}, which could not be loaded: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  if (typeof module[exportName] !== 'function') {
    throw new TesseraError('invalid_config', `the package ${specifier} does not export ${exportName}`);
  }
  return module as T;
}

/** A store URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^/@:]*):([^/@]*)@/, '//$1:***@');
}
