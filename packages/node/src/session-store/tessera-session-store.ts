/**
 * `TesseraSessionStore`: an express-session store on any Tessera store backend, so that an app on
 * express-session keeps its session data next to its Tessera sessions (SQLite, Redis, Redis Cluster,
 * memory) and switches stores without touching anything else:
 *
 *     app.use(session({ secret, store: new TesseraSessionStore({ store: 'redis://127.0.0.1:6379', prefix: 'app1:' }) }));
 *
 * It translates express-session's `Store` contract onto core's session-data ability
 * (`SessionDataStore`, one namespace per `prefix`):
 *
 * - `set` stores the session as JSON until its cookie expires (`cookie.expires`, else `cookie.maxAge`
 *   from now; a cookie with neither, a browser-session cookie, lives `ttl`). A session whose cookie
 *   has already expired is removed instead.
 * - `touch` rewrites the stored expiry (and nothing else, atomically: a concurrent `set` is never
 *   undone); `get` reports that expiry back as `cookie.expires`, so the session express-session loads
 *   carries it, as with express-session's own MemoryStore.
 * - `get` of an unknown or expired session answers nothing, not an error; `all` answers an object by
 *   session id (MemoryStore's shape); `length` counts live sessions; `clear` removes this prefix's
 *   sessions only.
 * - Every method takes a callback, or returns a promise when given none. Times are milliseconds.
 */
import session from 'express-session';
import type { SessionData } from 'express-session';
import { TesseraError, isSessionDataStore, systemClock, type Clock, type SessionDataStore, type SessionStore } from '@tessera/core';
import { openStore, redactUrl } from '@tessera/server/http';

type DataStore = SessionStore & SessionDataStore;
type Callback<T> = (error: unknown, value?: T) => void;

export interface TesseraSessionStoreOptions {
  /**
   * A store URL in the `TESSERA_STORE` format (`sqlite:<path>`, `memory:`, `redis://host:port`,
   * `redis-cluster://host:port,...`), opened by this store and closed by `close()`; or a store the app
   * already has (with the session-data ability), which stays the app's to close.
   */
  store: string | DataStore;
  /** The namespace of this app's sessions; each prefix sees only its own. Default `sess:`. */
  prefix?: string;
  /** Lifetime of sessions whose cookie has no expiry (browser-session cookies), in ms. Default 1 day. */
  ttl?: number;
  /** How sessions become strings and back. Default JSON. */
  serializer?: { stringify(session: SessionData): string; parse(text: string): SessionData };
  clock?: Clock;
}

const DAY = 86_400_000;

export class TesseraSessionStore extends session.Store {
  readonly prefix: string;
  readonly #store: Promise<DataStore>;
  readonly #owned: boolean;
  readonly #ttl: number;
  readonly #serializer: NonNullable<TesseraSessionStoreOptions['serializer']>;
  readonly #clock: Clock;
  #closed = false;

  constructor(options: TesseraSessionStoreOptions) {
    super();
    if (!options || (typeof options.store !== 'string' && typeof options.store !== 'object')) {
      throw new TesseraError('invalid_config', 'TesseraSessionStore needs a store: a URL such as sqlite:./data/tessera.db, or a store');
    }
    this.prefix = options.prefix ?? 'sess:';
    if (typeof this.prefix !== 'string' || this.prefix.length > 256) throw new TesseraError('invalid_config', 'prefix must be a string of at most 256 characters');
    this.#ttl = options.ttl ?? DAY;
    if (!Number.isSafeInteger(this.#ttl) || this.#ttl <= 0) throw new TesseraError('invalid_config', 'ttl must be a positive whole number of ms');
    this.#serializer = options.serializer ?? { stringify: (s) => JSON.stringify(s), parse: (t) => JSON.parse(t) as SessionData };
    this.#clock = options.clock ?? systemClock;
    this.#owned = typeof options.store === 'string';
    this.#store = typeof options.store === 'string' ? open(options.store) : Promise.resolve(checked(options.store, 'the given store'));
    // Failures are reported to each call; an unused store must not crash the process on them.
    this.#store.catch(() => undefined);
  }

  /** Resolves once the backend is open (rejects if it cannot be). Calls wait for it anyway. */
  async ready(): Promise<void> {
    await this.#store;
  }

  override get(sid: string): Promise<SessionData | null>;
  override get(sid: string, callback: Callback<SessionData | null>): void;
  override get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> | void {
    return settle(async () => {
      const entry = await (await this.#open()).getData(this.prefix, sid, this.#clock.now());
      return entry ? this.#revive(entry.value, entry.expiresAt) : null;
    }, callback);
  }

  override set(sid: string, data: SessionData): Promise<void>;
  override set(sid: string, data: SessionData, callback: (error?: unknown) => void): void;
  override set(sid: string, data: SessionData, callback?: (error?: unknown) => void): Promise<void> | void {
    return settle(async () => {
      const now = this.#clock.now();
      await (await this.#open()).setData(this.prefix, sid, this.#serializer.stringify(data), this.#expiresAt(data, now), now);
    }, callback);
  }

  override touch(sid: string, data: SessionData): Promise<void>;
  override touch(sid: string, data: SessionData, callback: (error?: unknown) => void): void;
  override touch(sid: string, data: SessionData, callback?: (error?: unknown) => void): Promise<void> | void {
    return settle(async () => {
      const now = this.#clock.now();
      await (await this.#open()).touchData(this.prefix, sid, this.#expiresAt(data, now), now);
    }, callback);
  }

  override destroy(sid: string): Promise<void>;
  override destroy(sid: string, callback: (error?: unknown) => void): void;
  override destroy(sid: string, callback?: (error?: unknown) => void): Promise<void> | void {
    return settle(async () => (await this.#open()).deleteData(this.prefix, sid), callback);
  }

  override all(): Promise<Record<string, SessionData>>;
  override all(callback: Callback<Record<string, SessionData>>): void;
  override all(callback?: Callback<Record<string, SessionData>>): Promise<Record<string, SessionData>> | void {
    return settle(async () => {
      const sessions: Record<string, SessionData> = {};
      for (const entry of await (await this.#open()).listData(this.prefix, this.#clock.now())) {
        const data = this.#revive(entry.value, entry.expiresAt);
        if (data) sessions[entry.key] = data;
      }
      return sessions;
    }, callback);
  }

  override length(): Promise<number>;
  override length(callback: Callback<number>): void;
  override length(callback?: Callback<number>): Promise<number> | void {
    return settle(async () => (await this.#open()).countData(this.prefix, this.#clock.now()), callback);
  }

  override clear(): Promise<void>;
  override clear(callback: (error?: unknown) => void): void;
  override clear(callback?: (error?: unknown) => void): Promise<void> | void {
    return settle(async () => (await this.#open()).clearData(this.prefix), callback);
  }

  /** Closes the backend if this store opened it (from a URL). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#owned) return;
    const store = await this.#store.catch(() => null);
    await store?.close();
  }

  async #open(): Promise<DataStore> {
    if (this.#closed) throw new TesseraError('store_unavailable', 'the session store is closed');
    return this.#store;
  }

  /** When the session's cookie expires: its `expires`, else `maxAge` from now, else `ttl` from now. */
  #expiresAt(data: SessionData, now: number): number {
    const cookie = data?.cookie as (Partial<SessionData['cookie']> & { expires?: Date | string | null }) | undefined;
    if (cookie?.expires) {
      const at = new Date(cookie.expires).getTime();
      if (Number.isFinite(at)) return at;
    }
    if (typeof cookie?.maxAge === 'number' && Number.isFinite(cookie.maxAge)) return now + Math.ceil(cookie.maxAge);
    return now + this.#ttl;
  }

  /** The stored session, its `cookie.expires` set to the stored expiry (which `touch` may have moved). */
  #revive(value: string, expiresAt: number): SessionData | null {
    let data: SessionData;
    try {
      data = this.#serializer.parse(value);
    } catch {
      return null;
    }
    const cookie = data?.cookie as { expires?: unknown } | undefined;
    if (cookie && cookie.expires !== null && cookie.expires !== undefined) cookie.expires = new Date(expiresAt).toISOString();
    return data;
  }
}

async function open(url: string): Promise<DataStore> {
  return checked(await openStore(url), redactUrl(url));
}

function checked(store: SessionStore, what: string): DataStore {
  if (!isSessionDataStore(store)) {
    throw new TesseraError('invalid_config', `${what} (${store.kind}) cannot keep session data: its store has no session-data ability yet`);
  }
  return store;
}

/**
 * Runs `work`: with a callback, reports to it (on a later tick, like every express-session store,
 * so that an exception in the callback is not mistaken for the store's); without, returns the promise.
 */
function settle<T>(work: () => Promise<T>, callback?: Callback<T> | ((error?: unknown) => void)): Promise<T> | void {
  const promise = work();
  if (!callback) return promise;
  promise.then(
    (value) => process.nextTick(() => (callback as Callback<T>)(null, value)),
    (error: unknown) => process.nextTick(() => callback(error)),
  );
}
