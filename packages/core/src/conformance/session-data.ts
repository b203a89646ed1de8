/**
 * The conformance suite of the optional session-data ability (`SessionDataStore`, session-data.ts):
 * a store that offers it runs this beside `runStoreConformance`:
 *
 *     import { runSessionDataConformance } from '@tessera/core/conformance';
 *     runSessionDataConformance({ name: 'sqlite', open: async () => new SqliteStore({ path: tempFile() }), reopen: ... });
 *
 * Times are the caller's (`now` near the wall clock, so that backends with native expiry agree), and
 * expiry is tested by asking with a later `now`, never by sleeping.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TesseraError } from '../errors.js';
import type { DataEntry, SessionDataStore } from '../session-data.js';
import type { SessionStore } from '../store.js';

type DataStore = SessionStore & SessionDataStore;

export interface SessionDataConformanceTarget {
  name: string;
  /** A store on a new, empty backend: tests never share state. */
  open(): Promise<DataStore>;
  /** A second, independent handle on the backend of `store` (the memory store returns the same object). */
  reopen(store: DataStore): Promise<DataStore>;
  /** Runs once after the whole suite. */
  cleanup?(): Promise<void>;
}

const MINUTE = 60_000;

export function runSessionDataConformance(target: SessionDataConformanceTarget): void {
  describe(`session data conformance: ${target.name}`, () => {
    const opened: DataStore[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0).reverse()) await store.close().catch(() => undefined);
    });
    if (target.cleanup) afterAll(() => target.cleanup!());

    async function open(): Promise<DataStore> {
      const store = await target.open();
      opened.push(store);
      return store;
    }

    const sorted = (entries: DataEntry[]) => [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

    it('stores a value and returns it exactly, with its expiry; unknown keys are null', async () => {
      const store = await open();
      const now = Date.now();
      const value = JSON.stringify({ cookie: { expires: null }, user: 'zoë', emoji: '🍪', nested: { list: [1, 2, 3] } });
      await store.setData('app:', 'sid-1', value, now + MINUTE, now);
      expect(await store.getData('app:', 'sid-1', now)).toEqual({ key: 'sid-1', value, expiresAt: now + MINUTE });
      const big = 'x'.repeat(200_000);
      await store.setData('app:', 'big', big, now + MINUTE, now);
      expect((await store.getData('app:', 'big', now))?.value).toBe(big);
      await store.setData('app:', 'empty', '', now + MINUTE, now);
      expect(await store.getData('app:', 'empty', now)).toEqual({ key: 'empty', value: '', expiresAt: now + MINUTE });
      expect(await store.getData('app:', 'nope', now)).toBeNull();
      expect(await store.getData('other:', 'sid-1', now)).toBeNull();
    });

    it('keys are opaque strings: odd characters round-trip; malformed reads are answers, not errors', async () => {
      const store = await open();
      const now = Date.now();
      const keys = ['%', '/foo', 'a b', "'; DROP TABLE data; --", '{tag}', '}{', '*', '\\', '\u0001x', 'ñ', '🍪', 'k'.repeat(1024)];
      for (const key of keys) await store.setData('odd', key, `v:${key}`, now + MINUTE, now);
      for (const key of keys) expect((await store.getData('odd', key, now))?.value).toBe(`v:${key}`);
      expect(await store.countData('odd', now)).toBe(keys.length);
      for (const key of ['', 'k'.repeat(1025), 'nul\u0000', 42, null] as unknown as string[]) expect(await store.getData('odd', key, now)).toBeNull();
      expect(await store.getData('n'.repeat(300), 'x', now)).toBeNull();
    });

    it('set replaces the value and the expiry', async () => {
      const store = await open();
      const now = Date.now();
      await store.setData('ns', 'k', 'one', now + MINUTE, now);
      await store.setData('ns', 'k', 'two', now + 2 * MINUTE, now + 1000);
      expect(await store.getData('ns', 'k', now + 1000)).toEqual({ key: 'k', value: 'two', expiresAt: now + 2 * MINUTE });
      await store.setData('ns', 'k', 'three', now + 1500, now + 1000);
      expect(await store.getData('ns', 'k', now + 1000)).toEqual({ key: 'k', value: 'three', expiresAt: now + 1500 });
      expect(await store.countData('ns', now + 1000)).toBe(1);
    });

    it('an entry is live strictly before expiresAt: then it is not returned, listed, counted or touched', async () => {
      const store = await open();
      const now = Date.now();
      await store.setData('ns', 'short', 's', now + 1000, now);
      await store.setData('ns', 'long', 'l', now + MINUTE, now);
      expect((await store.getData('ns', 'short', now + 999))?.value).toBe('s');
      expect(await store.getData('ns', 'short', now + 1000)).toBeNull();
      expect((await store.listData('ns', now + 1000)).map((e) => e.key)).toEqual(['long']);
      expect(await store.countData('ns', now + 1000)).toBe(1);
      expect(await store.touchData('ns', 'short', now + MINUTE, now + 1000)).toBe(false);
      expect(await store.getData('ns', 'short', now + 1000)).toBeNull();
      expect(await store.countData('ns', now + 1000)).toBe(1);
    });

    it('a set with expiresAt at or before now stores nothing, and removes what was there', async () => {
      const store = await open();
      const now = Date.now();
      await store.setData('ns', 'born-dead', 'x', now, now);
      expect(await store.getData('ns', 'born-dead', now - 1)).toBeNull();
      await store.setData('ns', 'k', 'live', now + MINUTE, now);
      await store.setData('ns', 'k', 'dead', now - 1, now);
      expect(await store.getData('ns', 'k', now - 10)).toBeNull();
      expect(await store.countData('ns', now - 10)).toBe(0);
    });

    it('touch rewrites the expiry (later or earlier) and keeps the value; false for unknown keys, creating nothing', async () => {
      const store = await open();
      const now = Date.now();
      await store.setData('ns', 'k', 'value', now + MINUTE, now);
      expect(await store.touchData('ns', 'k', now + 10 * MINUTE, now + 1000)).toBe(true);
      expect(await store.getData('ns', 'k', now + 5 * MINUTE)).toEqual({ key: 'k', value: 'value', expiresAt: now + 10 * MINUTE });
      expect(await store.touchData('ns', 'k', now + 2000, now + 1000)).toBe(true);
      expect(await store.getData('ns', 'k', now + 1999)).toEqual({ key: 'k', value: 'value', expiresAt: now + 2000 });
      expect(await store.getData('ns', 'k', now + 2000)).toBeNull();
      expect(await store.touchData('ns', 'unknown', now + MINUTE, now)).toBe(false);
      expect(await store.getData('ns', 'unknown', now)).toBeNull();
      expect(await store.touchData('other', 'k', now + MINUTE, now)).toBe(false);
      // Touching to a time at or before now expires the entry.
      await store.setData('ns', 'j', 'v', now + MINUTE, now);
      expect(await store.touchData('ns', 'j', now, now)).toBe(true);
      expect(await store.getData('ns', 'j', now - 1)).toBeNull();
    });

    it('delete removes; deleting an unknown key is a no-op', async () => {
      const store = await open();
      const now = Date.now();
      await store.setData('ns', 'a', '1', now + MINUTE, now);
      await store.setData('ns', 'b', '2', now + MINUTE, now);
      await store.deleteData('ns', 'a');
      await store.deleteData('ns', 'a');
      await store.deleteData('ns', 'never');
      await store.deleteData('ns', '');
      expect(await store.getData('ns', 'a', now)).toBeNull();
      expect((await store.getData('ns', 'b', now))?.value).toBe('2');
      expect(await store.countData('ns', now)).toBe(1);
    });

    it('namespaces are isolated, however their names relate', async () => {
      const store = await open();
      const now = Date.now();
      const pairs: [string, string][] = [
        ['app:', 'x'],
        ['app', ':x'],
        ['app', 'x'],
        ['ap', 'p:x'],
        ['', 'app:x'],
        ['a:1:', 'b'],
        ['a', '1::b'],
      ];
      for (const [ns, key] of pairs) await store.setData(ns, key, `${ns}|${key}`, now + MINUTE, now);
      for (const [ns, key] of pairs) {
        expect(await store.getData(ns, key, now)).toEqual({ key, value: `${ns}|${key}`, expiresAt: now + MINUTE });
      }
      expect(sorted(await store.listData('app', now)).map((e) => e.key)).toEqual([':x', 'x']);
      expect(await store.countData('app:', now)).toBe(1);
      expect(await store.countData('', now)).toBe(1);
      expect(await store.touchData('app:', ':x', now + 2 * MINUTE, now)).toBe(false);
      await store.deleteData('app', 'x');
      expect((await store.getData('app:', 'x', now))?.value).toBe('app:|x');
      await store.clearData('app');
      expect(await store.countData('app', now)).toBe(0);
      for (const [ns, key] of pairs.filter(([ns]) => ns !== 'app')) expect((await store.getData(ns, key, now))?.value).toBe(`${ns}|${key}`);
    });

    it('lists and counts many entries, with their values and expiries', async () => {
      const store = await open();
      const now = Date.now();
      const written: DataEntry[] = [];
      for (let i = 0; i < 300; i++) written.push({ key: `sess-${i}`, value: `{"n":${i}}`, expiresAt: now + MINUTE + i });
      await Promise.all(written.map((e) => store.setData('many', e.key, e.value, e.expiresAt, now)));
      await store.setData('many', 'expired-soon', 'x', now + 10, now);
      await store.setData('others', 'sess-1', 'not mine', now + MINUTE, now);
      expect(await store.countData('many', now + 10)).toBe(300);
      expect(sorted(await store.listData('many', now + 10))).toEqual(sorted(written));
      expect(await store.listData('nobody', now)).toEqual([]);
      expect(await store.countData('nobody', now)).toBe(0);
    });

    it('clear removes every entry of its namespace and nothing else', async () => {
      const store = await open();
      const now = Date.now();
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.setData('gone', `k${i}`, 'v', now + MINUTE, now)));
      await store.setData('gone', 'expired', 'v', now + 5, now);
      await store.setData('kept', 'k1', 'v', now + MINUTE, now);
      await store.clearData('gone');
      expect(await store.countData('gone', now)).toBe(0);
      expect(await store.listData('gone', now)).toEqual([]);
      expect(await store.getData('gone', 'k7', now)).toBeNull();
      expect(await store.countData('kept', now)).toBe(1);
      await store.clearData('gone');
      await store.setData('gone', 'k1', 'again', now + MINUTE, now);
      expect(await store.countData('gone', now)).toBe(1);
    });

    it('concurrent writes: every distinct key lands; one key ends as one of the writes, never a mix', async () => {
      const store = await open();
      const now = Date.now();
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.setData('race', `k${i}`, `v${i}`, now + MINUTE, now)));
      expect(await store.countData('race', now)).toBe(100);
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0 ? store.setData('race', 'same', `w${i}`, now + MINUTE + i, now) : store.touchData('race', 'same', now + 2 * MINUTE, now),
        ),
      );
      const entry = (await store.getData('race', 'same', now))!;
      expect(entry.value).toMatch(/^w\d+$/);
      const i = Number(entry.value.slice(1));
      expect([now + MINUTE + i, now + 2 * MINUTE]).toContain(entry.expiresAt);
    });

    it('another handle on the same backend sees the same entries', async () => {
      const store = await open();
      const other = await target.reopen(store);
      if (other !== store) opened.push(other);
      const now = Date.now();
      await store.setData('shared', 'k', 'v', now + MINUTE, now);
      expect(await other.getData('shared', 'k', now)).toEqual({ key: 'k', value: 'v', expiresAt: now + MINUTE });
      expect(await other.touchData('shared', 'k', now + 2 * MINUTE, now)).toBe(true);
      expect((await store.getData('shared', 'k', now))?.expiresAt).toBe(now + 2 * MINUTE);
      await other.clearData('shared');
      expect(await store.countData('shared', now)).toBe(0);
    });

    it('rejects malformed writes with invalid_request, writing nothing', async () => {
      const store = await open();
      const now = Date.now();
      const bad: [unknown, unknown, unknown, unknown, unknown][] = [
        ['ns', '', 'v', now + MINUTE, now],
        ['ns', 'k'.repeat(1025), 'v', now + MINUTE, now],
        ['ns', 'nul\u0000', 'v', now + MINUTE, now],
        ['ns', 'k', 'nul\u0000', now + MINUTE, now],
        ['ns', 42, 'v', now + MINUTE, now],
        ['n'.repeat(257), 'k', 'v', now + MINUTE, now],
        ['ns', 'k', { not: 'a string' }, now + MINUTE, now],
        ['ns', 'k', 'v', Number.NaN, now],
        ['ns', 'k', 'v', now + 0.5, now],
        ['ns', 'k', 'v', now + MINUTE, 'now'],
      ];
      for (const args of bad) {
        const error = await (store.setData as (...a: unknown[]) => Promise<void>)(...args).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TesseraError);
        expect((error as TesseraError).code).toBe('invalid_request');
      }
      const touched = await (store.touchData as (...a: unknown[]) => Promise<boolean>)('ns', 'k', 'later', now).then(
        () => null,
        (e: unknown) => e,
      );
      expect((touched as TesseraError).code).toBe('invalid_request');
      expect(await store.countData('ns', now)).toBe(0);
    });

    it('answers store_unavailable after close', async () => {
      const store = await target.open();
      await store.close();
      for (const call of [
        () => store.getData('ns', 'k', Date.now()),
        () => store.setData('ns', 'k', 'v', Date.now() + MINUTE, Date.now()),
        () => store.countData('ns', Date.now()),
        () => store.clearData('ns'),
      ]) {
        const error = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect((error as TesseraError).code).toBe('store_unavailable');
      }
    });
  });
}
