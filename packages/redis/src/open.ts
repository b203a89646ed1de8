import { TesseraError } from '@tessera/core';
import { RedisStore, type RedisStoreOptions } from './store.js';

type Extra = Omit<RedisStoreOptions, 'url' | 'cluster'>;

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * Parses a `TESSERA_STORE` value: `redis://[user:password@]host:port[/db]` (or `rediss://`) for one
 * server, `redis-cluster://[user:password@]host:port,host:port,...` for a cluster (its root nodes).
 * Throws `invalid_config` naming what is wrong; never echoes a password.
 */
export function parseRedisUrl(url: string): { url: string } | { cluster: string[] } {
  if (typeof url !== 'string') throw new TesseraError('invalid_config', 'the Redis URL must be a string');
  if (/^rediss?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new TesseraError('invalid_config', 'the Redis URL is malformed');
    }
    return { url };
  }
  const match = /^redis-cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/.exec(url);
  if (!match) throw new TesseraError('invalid_config', 'the store URL must start with redis://, rediss:// or redis-cluster://');
  const credentials = match[1] === undefined ? '' : `${match[1]}@`;
  const nodes = match[2]!.split(',').map((node) => node.trim());
  for (const node of nodes) {
    const hostPort = HOST_PORT.exec(node);
    if (!hostPort || Number(hostPort[2]) < 1 || Number(hostPort[2]) > 65535) {
      throw new TesseraError('invalid_config', `redis-cluster:// needs host:port pairs separated by commas, got ${JSON.stringify(node)}`);
    }
  }
  return { cluster: nodes.map((node) => `redis://${credentials}${node}`) };
}

/** Opens a store from a `TESSERA_STORE` URL (see `parseRedisUrl`). */
export function openRedisStore(url: string, options: Extra = {}): Promise<RedisStore> {
  return RedisStore.connect({ ...options, ...parseRedisUrl(url) });
}
