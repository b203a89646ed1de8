/**
 * Encrypted persistence for the browser, on IndexedDB.
 *
 * - AES-256-GCM (NIST SP 800-38D), authenticated: a modified ciphertext fails to decrypt instead of
 *   decrypting to garbage that the application would trust.
 * - A fresh random 96-bit IV for every write (SP 800-38D §8.2.2, the RBG-based construction; 96 bits
 *   is the IV length §5.2.1.1 recommends). An IV is never reused under one key: reuse would reveal
 *   the XOR of two plaintexts and let an attacker forge tags. §8.3 limits random IVs to 2^32 writes
 *   per key, far beyond what a session writes before logout replaces the key.
 * - The item's name is the additional authenticated data, so a ciphertext moved to another item
 *   (say, a cart swapped into the refresh-token slot) does not authenticate.
 * - The key is a CryptoKey created with `extractable: false` and stored as such in IndexedDB (the
 *   structured clone keeps the flag): script, including an XSS payload, can use it while the page
 *   is open but can never read its bytes (`exportKey` fails), so a copy of the disk or of IndexedDB
 *   alone decrypts nothing (OWASP ASVS 4.0.3 V6.4.2: key material not exposed to the application;
 *   V8.2.2: no sensitive data in clear in browser storage). A passphrase-derived key (the crypto-js
 *   pattern) would need the passphrase in script, which is exactly what must not be there.
 * - Crypto-shredding: `destroy()` deletes the key and the data; with the key gone, any copy of the
 *   ciphertext that survives (backups, disk blocks) is unreadable (ASVS V8.2.3: authenticated data
 *   cleared from client storage when the session ends).
 * - Anything that does not decrypt and authenticate is deleted and reported, never returned.
 */
import { onResult, transact } from './idb.js';

export type DiscardReason = 'tampered' | 'stale-key';

export interface EncryptedStorageOptions {
  /** The IndexedDB database. Default `tessera`. */
  database?: string;
  /** Called for each item that was discarded because it did not authenticate or its key is gone. */
  onDiscard?: (name: string, reason: DiscardReason) => void;
}

export interface EncryptedStorage {
  /** The value last stored under `name`, or `null` (absent, discarded, or written under another session's key). */
  getItem<T = unknown>(name: string): Promise<T | null>;
  /**
   * Encrypts and stores a JSON-serialisable value. Resolves `false` when the write was refused: the
   * key this instance used has been destroyed (by this or another tab) since, and writing would
   * carry a finished session's data into the next one. `reset()` lifts the refusal.
   */
  setItem(name: string, value: unknown): Promise<boolean>;
  removeItem(name: string): Promise<void>;
  /** Crypto-shredding: deletes the key and every item. */
  destroy(): Promise<void>;
  /** Forgets the key this instance has used, so that the next write may create a new one. */
  reset(): void;
}

interface KeyRecord {
  id: string;
  key: CryptoKey;
}

interface ItemRecord {
  /** The id of the key that encrypted it. */
  k: string;
  iv: Uint8Array<ArrayBuffer>;
  c: ArrayBuffer;
}

const KEY = 'aes-gcm';
const text = new TextEncoder();

export function createEncryptedStorage(options: EncryptedStorageOptions = {}): EncryptedStorage {
  const database = options.database ?? 'tessera';
  // The id of the key this instance has read or written with; undefined until first use and after reset.
  let seen: string | undefined;

  const readKey = () =>
    transact<KeyRecord>(database, ['keys'], 'readonly', (tx, out) => onResult(tx.objectStore('keys').get(KEY), (k) => (out.value = k)));

  /** The current key, created if there is none and this instance has not seen one destroyed; null if refused. */
  async function writableKey(): Promise<KeyRecord | null> {
    const existing = await readKey();
    if (existing) return !seen || existing.id === seen ? existing : null;
    if (seen) return null;
    const fresh: KeyRecord = {
      id: randomId(),
      key: await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
    };
    // Two tabs may both find no key: the first transaction to commit wins, the other adopts its key.
    return (
      (await transact<KeyRecord>(database, ['keys'], 'readwrite', (tx, out) => {
        const keys = tx.objectStore('keys');
        onResult(keys.get(KEY), (current: KeyRecord | undefined) => {
          out.value = current ?? fresh;
          if (!current) keys.put(fresh, KEY);
        });
      })) ?? null
    );
  }

  /** Deletes `name` if it still holds `item` (a newer write in between is kept) and reports it. */
  async function discard(name: string, item: ItemRecord, reason: DiscardReason): Promise<null> {
    await transact(database, ['items'], 'readwrite', (tx) => {
      const items = tx.objectStore('items');
      onResult(items.get(name), (current: ItemRecord | undefined) => {
        if (current && sameBytes(current.iv, item.iv)) items.delete(name);
      });
    });
    options.onDiscard?.(name, reason);
    return null;
  }

  return {
    async getItem<T>(name: string): Promise<T | null> {
      const [key, item] =
        (await transact<[KeyRecord | undefined, ItemRecord | undefined]>(database, ['keys', 'items'], 'readonly', (tx, out) =>
          onResult(tx.objectStore('keys').get(KEY), (k: KeyRecord | undefined) =>
            onResult(tx.objectStore('items').get(name), (i: ItemRecord | undefined) => (out.value = [k, i])),
          ),
        )) ?? [];
      if (!item) return null;
      if (!key || item.k !== key.id) return discard(name, item, 'stale-key');
      if (seen && key.id !== seen) return null;
      seen = key.id;
      try {
        const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: item.iv, additionalData: text.encode(name) }, key.key, item.c);
        return JSON.parse(new TextDecoder().decode(plain)) as T;
      } catch {
        // OperationError: the tag did not verify (modified ciphertext, IV, or name). Fail closed.
        return discard(name, item, 'tampered');
      }
    },

    async setItem(name: string, value: unknown): Promise<boolean> {
      const key = await writableKey();
      if (!key) return false;
      seen = key.id;
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const c = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: text.encode(name) }, key.key, text.encode(JSON.stringify(value)));
      const record: ItemRecord = { k: key.id, iv, c };
      // Written only if the key is still the one that encrypted it: a logout in another tab between
      // the read and this write has destroyed it, and the data must not outlive the session.
      return (
        (await transact<boolean>(database, ['keys', 'items'], 'readwrite', (tx, out) =>
          onResult(tx.objectStore('keys').get(KEY), (current: KeyRecord | undefined) => {
            out.value = current?.id === key.id;
            if (out.value) tx.objectStore('items').put(record, name);
          }),
        )) ?? false
      );
    },

    async removeItem(name: string): Promise<void> {
      await transact(database, ['items'], 'readwrite', (tx) => tx.objectStore('items').delete(name));
    },

    async destroy(): Promise<void> {
      seen = undefined;
      await transact(database, ['keys', 'items'], 'readwrite', (tx) => {
        tx.objectStore('keys').clear();
        tx.objectStore('items').clear();
      });
    },

    reset(): void {
      seen = undefined;
    },
  };
}

export function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
