/**
 * A Pinia plugin that persists chosen parts of stores through Tessera's encrypted storage
 * (AES-GCM under a non-extractable key in IndexedDB; see @tessera/client), and forgets them at
 * logout and revocation in every tab.
 *
 *   defineStore('cart', { state: () => ({ items: [], coupon: '' }), persist: { pick: ['items'] } })
 *
 * Pinia's hooks are synchronous and the storage is not (IndexedDB and WebCrypto are promise-based),
 * so each store keeps an in-memory mirror of what it last persisted and writes behind: mutations
 * are coalesced and the latest snapshot is written, one write at a time. Hydration is asynchronous:
 * `await store.$hydrated` (or `persistence.hydrated()` for every store so far). A store mutated
 * before its hydration finished keeps its state, which then overwrites the persisted copy.
 */
import type { PiniaPluginContext, StateTree } from 'pinia';
import type { TesseraClient } from '@tessera/client';
import { assignPaths, pickPaths } from './paths.js';

export interface PersistOptions {
  /** The state paths to persist (`'items'`, `'profile.theme'`). */
  pick: string[];
}

declare module 'pinia' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  export interface DefineStoreOptionsBase<S extends StateTree, Store> {
    /** Persist these paths of the state through Tessera's encrypted storage. */
    persist?: PersistOptions;
  }
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  export interface PiniaCustomProperties<Id, S, G, A> {
    /** Resolves when the persisted state has been read back (at once for stores that do not persist). */
    $hydrated: Promise<void>;
  }
}

export interface PersistenceOptions {
  /** Item names are `${prefix}${store.$id}`. Default `pinia:`. */
  prefix?: string;
  /** Told about a failed read or write (the store keeps working from memory). */
  onError?: (error: unknown, storeId: string) => void;
}

export interface TesseraPersistence {
  (context: PiniaPluginContext): { $hydrated: Promise<void> };
  /** Resolves when every persisted store created so far is hydrated. */
  hydrated(): Promise<void>;
  /** Resolves when every pending write has reached the storage. */
  flushed(): Promise<void>;
}

interface Persisted {
  hydrated: Promise<void>;
  clear(): void;
  flushed(): Promise<void>;
}

export function createTesseraPersistence(client: Pick<TesseraClient, 'storage' | 'on'>, options: PersistenceOptions = {}): TesseraPersistence {
  const stores = new Set<Persisted>();
  const report = options.onError ?? ((error: unknown) => console.error('[tessera] persistence', error));
  // The session ended (here or in another tab): drop every persisted store's state; the client
  // destroys the key and the data (crypto-shredding) and refuses writes under the old key.
  const clearAll = () => stores.forEach((store) => store.clear());
  client.on('logout', clearAll);
  client.on('revoked', clearAll);

  const plugin = ({ store, options: storeOptions }: PiniaPluginContext) => {
    const pick = storeOptions.persist?.pick;
    if (!pick?.length) return { $hydrated: Promise.resolve() };
    const name = `${options.prefix ?? 'pinia:'}${store.$id}`;
    const snapshot = () => JSON.stringify(pickPaths(store.$state, pick));
    const initial = snapshot();
    /** The in-memory mirror: what the storage holds, or will once the pending write lands. */
    let mirror = initial;
    let hydrating = true;
    let mutatedEarly = false;
    /** Our own patches (hydration, clearing) are not mutations to persist. */
    let applying = false;
    let queued = false;
    /** Bumped by clear(): a read that started before the session ended must not bring its data back. */
    let epoch = 0;
    const apply = (values: Record<string, unknown>) => {
      applying = true;
      try {
        store.$patch((state) => assignPaths(state, values, pick));
      } finally {
        applying = false;
      }
    };
    let pending: string | undefined;
    let writing: Promise<void> | undefined;

    const write = () => {
      writing ??= (async () => {
        while (pending !== undefined) {
          const json = pending;
          pending = undefined;
          try {
            await client.storage.setItem(name, JSON.parse(json));
          } catch (error) {
            report(error, store.$id);
          }
        }
        writing = undefined;
      })();
    };

    store.$subscribe(
      () => {
        if (applying) return;
        if (hydrating) return void (mutatedEarly = true);
        if (queued) return;
        // One snapshot per burst of synchronous mutations.
        queued = true;
        queueMicrotask(() => {
          queued = false;
          const json = snapshot();
          if (json === mirror) return;
          mirror = pending = json;
          write();
        });
      },
      { detached: true, flush: 'sync' },
    );

    const hydrated = (async () => {
      const started = epoch;
      try {
        const saved = await client.storage.getItem<Record<string, unknown>>(name);
        if (saved && !mutatedEarly && started === epoch) apply(saved);
      } catch (error) {
        report(error, store.$id);
      }
      hydrating = false;
      const json = snapshot();
      if (json !== mirror) {
        mirror = json;
        // Hydrated values are already stored; only state changed before hydration needs a write.
        if (mutatedEarly) {
          pending = json;
          write();
        }
      }
    })();

    stores.add({
      hydrated,
      flushed: async () => {
        // A store mutated before hydration writes once hydration is done: wait for that too.
        await hydrated;
        while (writing) await writing;
      },
      clear() {
        epoch++;
        pending = undefined;
        mirror = initial;
        apply(JSON.parse(initial) as Record<string, unknown>);
      },
    });
    return { $hydrated: hydrated };
  };

  return Object.assign(plugin, {
    hydrated: async () => void (await Promise.all([...stores].map((s) => s.hydrated))),
    flushed: async () => void (await Promise.all([...stores].map((s) => s.flushed()))),
  });
}
