/**
 * An optional ability of a store, beside the `SessionStore` contract (store.ts): opaque string values
 * under keys, in namespaces, each with an expiry. It keeps *application* session data (the
 * express-session store of `@tessera/node`) on the backend that already keeps the Tessera sessions,
 * so an app needs one store, not two. A store that has it implements both interfaces; callers find out
 * with `isSessionDataStore(store)`. Its executable definition is `runSessionDataConformance` in
 * `@tessera/core/conformance`.
 *
 * The general rules of store.ts apply (each method atomic in its backend, errors only for system
 * failures, as `store_unavailable`, time from the caller's clock, never the store's). Besides:
 *
 * - **Namespaces are isolated.** No method called with namespace A reads, lists, counts, changes or
 *   removes an entry of namespace B, whatever the two strings are: `a` and `ab`, or namespace `app:`
 *   with key `x` and namespace `app` with key `:x`, are unrelated entries. (A backend that joins the
 *   two into one name must do it unambiguously, e.g. with a length prefix.)
 * - **Expiry.** An entry is *live* at `now` while `now < expiresAt`. An entry that is not live is never
 *   returned, listed or counted, and `touchData` does not revive it. A store may forget it at any time
 *   after `expiresAt` (native expiry, `sweep`), and must not forget it before. Backends with native
 *   expiry derive it from `expiresAt - now`, as given by the caller.
 * - **Input.** Namespaces are strings of at most `MAX_NAMESPACE_LENGTH` characters (the empty string
 *   is a namespace); keys are strings of 1 to `MAX_DATA_KEY_LENGTH` characters; values are strings,
 *   stored and returned exactly. None of them contains U+0000 (which PostgreSQL's `text` cannot
 *   hold, and JSON never writes raw). A read with a key or namespace outside these bounds is an
 *   answer (`null`, nothing), not an error; a write with one, or with an `expiresAt` or `now` that is
 *   not a safe integer, rejects with `invalid_request` and writes nothing (`checkDataWrite`).
 */
import { TesseraError } from './errors.js';

export const MAX_NAMESPACE_LENGTH = 256;
export const MAX_DATA_KEY_LENGTH = 1024;

export interface DataEntry {
  key: string;
  value: string;
  /** ms since the epoch; the entry is live while `now < expiresAt`. */
  expiresAt: number;
}

export interface SessionDataStore {
  /** The live entry at `now`, or `null` (unknown, expired, malformed key or namespace). */
  getData(namespace: string, key: string, now: number): Promise<DataEntry | null>;

  /**
   * Inserts the entry, or replaces its value and expiry. With `expiresAt <= now` the entry is removed
   * instead (an entry born expired is no entry). Touch and set validate like `checkDataWrite`.
   */
  setData(namespace: string, key: string, value: string, expiresAt: number, now: number): Promise<void>;

  /**
   * Rewrites the expiry of a live entry, later or earlier, and leaves its value alone (an expiry at or
   * before `now` removes the entry). Returns `false`, writing nothing, when there is no live entry:
   * touching never creates an entry and never revives an expired one.
   */
  touchData(namespace: string, key: string, expiresAt: number, now: number): Promise<boolean>;

  /** Removes the entry. An unknown key is a no-op, not an error. */
  deleteData(namespace: string, key: string): Promise<void>;

  /**
   * Every live entry of the namespace at `now`, in no particular order. Entries written or removed
   * while the listing runs may or may not be in it; every entry live throughout is.
   */
  listData(namespace: string, now: number): Promise<DataEntry[]>;

  /** How many entries of the namespace are live at `now` (as `listData` would list). */
  countData(namespace: string, now: number): Promise<number>;

  /**
   * Removes every entry of the namespace, live or not. Entries set while the clear runs may survive
   * it; entries that existed when it started do not. Other namespaces are untouched.
   */
  clearData(namespace: string): Promise<void>;
}

const METHODS = ['getData', 'setData', 'touchData', 'deleteData', 'listData', 'countData', 'clearData'] as const;

/** Whether a store has the session-data ability (every method of `SessionDataStore`). */
export function isSessionDataStore<T extends object>(store: T): store is T & SessionDataStore {
  return METHODS.every((method) => typeof (store as Record<string, unknown>)[method] === 'function');
}

/** A namespace within bounds (reads answer "nothing" for any other). */
export function isDataNamespace(namespace: unknown): namespace is string {
  return typeof namespace === 'string' && namespace.length <= MAX_NAMESPACE_LENGTH && !namespace.includes('\0');
}

/** A key within bounds (reads answer "nothing" for any other). */
export function isDataKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0 && key.length <= MAX_DATA_KEY_LENGTH && !key.includes('\0');
}

/** The checks every store runs before a write: throws `invalid_request` naming the bad argument. */
export function checkDataWrite(namespace: unknown, key: unknown, value: unknown, expiresAt: unknown, now: unknown): void {
  if (!isDataNamespace(namespace)) throw new TesseraError('invalid_request', `the namespace must be a string of at most ${MAX_NAMESPACE_LENGTH} characters, without U+0000`);
  if (!isDataKey(key)) throw new TesseraError('invalid_request', `the key must be a string of 1 to ${MAX_DATA_KEY_LENGTH} characters, without U+0000`);
  if (value !== undefined && (typeof value !== 'string' || value.includes('\0'))) throw new TesseraError('invalid_request', 'the value must be a string without U+0000');
  if (!Number.isSafeInteger(expiresAt)) throw new TesseraError('invalid_request', 'expiresAt must be a whole number of ms since the epoch');
  if (!Number.isSafeInteger(now)) throw new TesseraError('invalid_request', 'now must be a whole number of ms since the epoch');
}
