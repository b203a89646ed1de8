/**
 * The few IndexedDB operations Tessera needs, as promises. IndexedDB, unlike localStorage, is
 * consistent across tabs: a transaction that has completed in one tab is seen by the next
 * transaction of any other tab (localStorage is cached per renderer and synchronised
 * asynchronously), which is what makes "re-read the shared state inside the lock" sound.
 */

/** Object stores: the encryption key, the encrypted items, and the (non-secret) shared session record. */
export type StoreName = 'keys' | 'items' | 'state';

const connections = new Map<string, Promise<IDBDatabase>>();

export function openDatabase(name: string): Promise<IDBDatabase> {
  let connection = connections.get(name);
  if (!connection) {
    connection = new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => {
        for (const store of ['keys', 'items', 'state']) request.result.createObjectStore(store);
      };
      request.onsuccess = () => {
        const db = request.result;
        // Another tab (or a newer SDK) wants to upgrade or delete the database: let it, reopen lazily.
        db.onversionchange = () => {
          db.close();
          connections.delete(name);
        };
        resolve(db);
      };
      request.onerror = () => reject(request.error);
    });
    connections.set(name, connection);
    connection.catch(() => connections.delete(name));
  }
  return connection;
}

/**
 * Runs `body` in one transaction and resolves with what it put in `out.value` once the transaction
 * has committed (not merely when the last request succeeded: only a committed write is visible to
 * other tabs).
 */
export async function transact<T>(
  database: string,
  stores: StoreName[],
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction, out: { value?: T }) => void,
): Promise<T | undefined> {
  const db = await openDatabase(database);
  return new Promise<T | undefined>((resolve, reject) => {
    const tx = db.transaction(stores, mode);
    const out: { value?: T } = {};
    tx.oncomplete = () => resolve(out.value);
    tx.onerror = tx.onabort = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
    body(tx, out);
  });
}

/** Calls `then` with the result of a request (inside the transaction, so `then` may issue more requests). */
export function onResult<T>(request: IDBRequest<T>, then: (value: T) => void): void {
  request.onsuccess = () => then(request.result);
}

export function readRecord<T>(database: string, store: StoreName, key: string): Promise<T | undefined> {
  return transact<T>(database, [store], 'readonly', (tx, out) => onResult(tx.objectStore(store).get(key), (v) => (out.value = v)));
}

export function writeRecord(database: string, store: StoreName, key: string, value: unknown): Promise<unknown> {
  return transact(database, [store], 'readwrite', (tx) => {
    if (value === undefined) tx.objectStore(store).delete(key);
    else tx.objectStore(store).put(value, key);
  });
}
