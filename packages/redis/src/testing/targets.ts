import type { ConformanceTarget, SessionDataConformanceTarget } from '@tessera/core/conformance';
import type { SessionStore } from '@tessera/core';
import { RedisStore } from '../store.js';
import type { RedisTarget } from '../connection.js';

let counter = 0;

/** A fresh key prefix per call: stores opened by different tests never share state. */
export function freshPrefix(): string {
  return `t${process.pid}-${++counter}:`;
}

/**
 * The conformance target over one Redis or a cluster: every `open()` uses a fresh prefix, `reopen()`
 * a second connection with the same prefix (as another process would have). The same target runs the
 * store conformance suite and the session-data one.
 */
export function redisConformanceTarget(name: string, target: () => RedisTarget): ConformanceTarget & SessionDataConformanceTarget {
  const prefixes = new WeakMap<SessionStore, string>();
  const connect = async (prefix: string): Promise<RedisStore> => {
    const store = await RedisStore.connect({ ...target(), prefix, heartbeatInterval: 100 });
    prefixes.set(store, prefix);
    return store;
  };
  return {
    name,
    open: () => connect(freshPrefix()),
    reopen: (store) => {
      const prefix = prefixes.get(store);
      if (!prefix) throw new Error('reopen() of a store this target did not open');
      return connect(prefix);
    },
  };
}
