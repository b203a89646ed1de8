/**
 * @tessera/client in real Chromium, against a real Tessera service (packages/server, memory store,
 * 3-second access tokens), several tabs per browser context. Nothing is mocked: cookies, CSRF
 * checks, Web Locks, BroadcastChannel, IndexedDB, WebCrypto and the events WebSocket are the real
 * ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_KEY, bundle, chromiumAvailability, eventually, launchChromium, sleep, startTestService, type TestService } from './testing/harness.js';

const availability = chromiumAvailability();
const PASSWORD = 'correct horse battery staple';
const ACCESS_TTL = 3000;

interface TabEvent {
  e: string;
  x: { reason?: string; status?: string; remote?: boolean };
  t: number;
}

/** What the test pages have on `window` (set up by `openTab`). */
interface TestWindow {
  Tessera: typeof import('./index.js');
  client: import('./index.js').TesseraClient;
  events: TabEvent[];
  discarded: [string, string][];
}
const w = () => window as unknown as TestWindow;

describe.skipIf(!availability.run)('@tessera/client in Chromium against a real service', () => {
  let service: TestService;
  let browser: Browser;
  let unauthorizedHits = 0;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (availability.failure) throw new Error(availability.failure);
    service = await startTestService({
      policy: { accessTtl: ACCESS_TTL },
      scripts: { '/test/client.js': await bundle('./client-entry.ts') },
      routes: (server) => {
        // An API that always refuses the token: the client must refresh once, retry once, and stop.
        server.get('/test/unauthorized', async (_request, reply) => {
          unauthorizedHits++;
          return reply.code(401).send({ error: { code: 'invalid_token', message: 'always' } });
        });
      },
    });
    await service.createUser('alice', PASSWORD);
    await service.createUser('bob', PASSWORD);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    expect(pageErrors).toEqual([]);
  });

  async function openTab(context: BrowserContext, options: Record<string, unknown> = {}): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(`${service.origin}/test/page.html`);
    await page.addScriptTag({ url: '/test/client.js' });
    await page.evaluate((opts) => {
      // The page's own `w()`, so that functions evaluated in the page can say `w().client` too.
      (window as unknown as { w: () => Window }).w = () => window;
      const win = window as unknown as TestWindow;
      win.events = [];
      win.discarded = [];
      const storage = win.Tessera.createEncryptedStorage({ onDiscard: (name, reason) => win.discarded.push([name, reason]) });
      win.client = win.Tessera.createTesseraClient({ baseUrl: '', refreshMargin: 60_000, storage, ...opts });
      for (const e of ['change', 'refresh', 'revoked', 'logout'] as const) win.client.on(e, (x) => win.events.push({ e, x: x as TabEvent['x'], t: Date.now() }));
    }, options);
    await page.evaluate(() => w().client.ready);
    return page;
  }

  const status = (page: Page) => page.evaluate(() => w().client.state.status);
  const token = (page: Page) => page.evaluate(() => w().client.getAccessToken());
  const login = (page: Page, user = 'alice') => page.evaluate(([u, p]) => w().client.login(u!, p!).then((s) => s.session!.id), [user, PASSWORD]);
  const eventsOf = (page: Page) => page.evaluate(() => w().events);
  const allSignedIn = async (pages: Page[]) => (await Promise.all(pages.map(status))).every((s) => s === 'signed-in');
  const allSignedOut = async (pages: Page[]) => (await Promise.all(pages.map(status))).every((s) => s === 'signed-out');
  const eventsOfType = (type: string) => service.events.filter((event) => event.type === type);

  /** Every key, value and CryptoKey in this origin's localStorage and IndexedDB, binary as hex and base64. */
  const dumpBrowserStorage = (page: Page) =>
    page.evaluate(async () => {
      const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
      const keys: { extractable: boolean; exportRaw: string; exportJwk: string }[] = [];
      const tryExport = (key: CryptoKey, format: 'raw' | 'jwk') =>
        crypto.subtle.exportKey(format, key).then(
          () => 'exported',
          (error: Error) => error.name,
        );
      const flatten = async (value: unknown): Promise<unknown> => {
        if (value instanceof CryptoKey) {
          keys.push({ extractable: value.extractable, exportRaw: await tryExport(value, 'raw'), exportJwk: await tryExport(value, 'jwk') });
          return `CryptoKey(${value.algorithm.name}, extractable=${value.extractable})`;
        }
        if (value instanceof ArrayBuffer) value = new Uint8Array(value);
        if (value instanceof Uint8Array) return `hex:${hex(value)} b64:${b64(value)}`;
        if (Array.isArray(value)) return Promise.all(value.map(flatten));
        if (value && typeof value === 'object') {
          const out: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(value)) out[k] = await flatten(v);
          return out;
        }
        return value;
      };
      const local: Record<string, string | null> = {};
      for (let i = 0; i < localStorage.length; i++) local[localStorage.key(i)!] = localStorage.getItem(localStorage.key(i)!);
      const databases: Record<string, Record<string, unknown>> = {};
      for (const info of await indexedDB.databases()) {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const request = indexedDB.open(info.name!);
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        const stores: Record<string, unknown> = {};
        for (const name of Array.from(db.objectStoreNames)) {
          const [k, v] = await new Promise<[IDBValidKey[], unknown[]]>((resolve, reject) => {
            const tx = db.transaction(name, 'readonly');
            const ks = tx.objectStore(name).getAllKeys();
            const vs = tx.objectStore(name).getAll();
            tx.oncomplete = () => resolve([ks.result, vs.result]);
            tx.onerror = () => reject(tx.error);
          });
          stores[name] = { keys: k, values: await flatten(v) };
        }
        db.close();
        databases[info.name!] = stores;
      }
      return { text: JSON.stringify({ local, databases }), local, databases, keys };
    });

  /** The forms in which a secret could sit in storage: as text, hex or base64 of its UTF-8 bytes, and its signature/secret part. */
  function secretForms(secret: string): string[] {
    const bytes = Buffer.from(secret, 'utf8');
    const tail = secret.split('.').pop()!;
    return [secret, tail, bytes.toString('hex'), bytes.toString('base64'), Buffer.from(tail).toString('hex')];
  }

  it('five tabs through several refresh cycles: exactly one refresh per cycle, never a reuse', async () => {
    const context = await browser.newContext();
    const tabs: Page[] = [];
    for (let i = 0; i < 5; i++) tabs.push(await openTab(context, { refreshMargin: 1000 }));
    const firstRefresh = service.refreshRequests.length;
    const sid = await login(tabs[0]!);
    expect(await eventually(() => allSignedIn(tabs), 2000)).toBe(true);

    // Four proactive refresh cycles (a ~3 s token, refreshed ~0.75 s before it expires).
    const cycles = 4;
    expect(await eventually(() => service.refreshRequests.length - firstRefresh >= cycles, cycles * ACCESS_TTL + 3000, 50)).toBe(true);
    await sleep(300);
    const refreshes = service.refreshRequests.slice(firstRefresh);
    expect(refreshes.length).toBe(cycles);
    expect(refreshes.every((r) => r.status === 200)).toBe(true);
    // One per cycle: consecutive refreshes are most of a token's life apart (a token lives 2-3 s,
    // since \`exp\` is in whole seconds, and is refreshed at 3/4 of it), never five at once.
    for (let i = 1; i < refreshes.length; i++) expect(refreshes[i]!.at - refreshes[i - 1]!.at).toBeGreaterThan(1000);

    // Every tab holds the same, newest token, heard of every refresh, and the service agrees with it.
    const tokens = await Promise.all(tabs.map(token));
    expect(new Set(tokens).size).toBe(1);
    for (const tab of tabs) expect((await eventsOf(tab)).filter((e) => e.e === 'refresh').length).toBe(cycles);
    const sessions = await tabs[3]!.evaluate(() => w().client.sessions.list());
    expect(sessions.map((s) => [s.id, s.current])).toEqual([[sid, true]]);

    // All five tabs hit a 401 at once: one refresh in total (the others take its token), one retry each, no loop.
    const before = service.refreshRequests.length;
    unauthorizedHits = 0;
    const statuses = await Promise.all(tabs.map((tab) => tab.evaluate(() => w().client.fetch('/test/unauthorized').then((r) => r.status))));
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(unauthorizedHits).toBe(10);
    expect(service.refreshRequests.length - before).toBe(1);

    // The server never saw a reuse, never revoked, and counted one rotation per refresh.
    expect(eventsOfType('session.reuse_detected')).toEqual([]);
    expect(eventsOfType('session.revoked')).toEqual([]);
    expect(eventsOfType('session.refreshed').filter((e) => e.sid === sid).length).toBe(cycles + 1);
    // One events socket for the whole browser: the tabs elected a leader.
    expect(service.server.tessera.hub.socketCount).toBe(1);

    // A 401 that is not about the token (a wrong password: a Bearer challenge without
    // error="invalid_token", RFC 6750 §3) is the answer: no refresh, no retry.
    const beforeWrong = service.refreshRequests.length;
    const wrong = await tabs[2]!.evaluate(() => w().client.sessions.revokeOthers('not the password').then(() => 'ok', (e: { code?: string }) => e.code));
    expect(wrong).toBe('invalid_credentials');
    expect(service.refreshRequests.length - beforeWrong).toBe(0);
    expect(eventsOfType('login.failed').length).toBe(1);

    // A tab opened now gets the session from the others, without a refresh.
    const late = await openTab(context, { refreshMargin: 1000 });
    expect(await status(late)).toBe('signed-in');
    expect(await token(late)).toBe(await token(tabs[0]!));
    expect(service.refreshRequests.length - before).toBe(1);

    await tabs[0]!.evaluate(() => w().client.logout());
    await context.close();
  }, 60_000);

  it('logout in one tab signs every tab out within a second and destroys the encrypted data', async () => {
    const context = await browser.newContext();
    const tabs = [await openTab(context), await openTab(context), await openTab(context)];
    const sid = await login(tabs[1]!);
    expect(await eventually(() => allSignedIn(tabs), 2000)).toBe(true);
    await tabs[2]!.evaluate(() => w().client.storage.setItem('notes', { draft: 'for alice only' }));
    expect(await tabs[0]!.evaluate(() => w().client.storage.getItem('notes'))).toEqual({ draft: 'for alice only' });
    expect((await context.cookies()).map((c) => c.name)).toContain('__Host-tessera_refresh');

    const startedAt = await tabs[0]!.evaluate(() => {
      const t = Date.now();
      void w().client.logout();
      return t;
    });
    expect(await eventually(() => allSignedOut(tabs), 1000, 10)).toBe(true);
    for (const [i, tab] of tabs.entries()) {
      const logout = (await eventsOf(tab)).find((e) => e.e === 'logout')!;
      expect(logout.t - startedAt).toBeLessThan(1000);
      expect(logout.x.remote).toBe(i !== 0);
    }
    await tabs[0]!.evaluate(() => w().client.logout()); // idempotent; waits for the first to finish

    // Key and data are gone (crypto-shredding), from every tab's point of view; so is the cookie.
    const dump = await dumpBrowserStorage(tabs[2]!);
    expect(dump.databases.tessera).toMatchObject({ keys: { keys: [] }, items: { keys: [] }, state: { keys: [] } });
    expect(await tabs[2]!.evaluate(() => w().client.storage.getItem('notes'))).toBeNull();
    expect((await context.cookies()).map((c) => c.name)).not.toContain('__Host-tessera_refresh');
    expect(service.events.some((e) => e.type === 'session.revoked' && e.sid === sid && e.reason === 'logout')).toBe(true);
    // A tab that had not heard yet cannot write the old session's data back under the destroyed key.
    expect(await tabs[2]!.evaluate(() => w().client.getAccessToken())).toBeNull();
    await context.close();
  }, 30_000);

  it('a revocation from another device signs every tab out, with the reason, even after the socket leader left', async () => {
    const laptop = await browser.newContext();
    const phone = await browser.newContext();
    // The first tab signs in and leads (holds the events lock, opens the socket); two more open later.
    const tabs = [await openTab(laptop)];
    const laptopSid = await login(tabs[0]!);
    expect(await eventually(() => service.server.tessera.hub.socketCount === 1, 2000)).toBe(true);
    tabs.push(await openTab(laptop), await openTab(laptop));
    expect(await allSignedIn(tabs)).toBe(true);
    await tabs[1]!.evaluate(() => w().client.storage.setItem('cart', ['tea']));

    // The leader goes away: another tab takes the lock over and opens its own socket.
    const sockets = service.eventSocketRequests.length;
    await tabs[0]!.close();
    const remaining = tabs.slice(1);
    expect(await eventually(() => service.eventSocketRequests.length === sockets + 1 && service.server.tessera.hub.socketCount === 1, 3000)).toBe(true);

    const phoneTab = await openTab(phone);
    await login(phoneTab);
    const listed = await phoneTab.evaluate(() => w().client.sessions.list());
    expect(listed.map((s) => s.id).sort()).toEqual([laptopSid, listed.find((s) => s.current)!.id].sort());
    await phoneTab.evaluate((id) => w().client.sessions.revoke(id), laptopSid);

    expect(await eventually(() => allSignedOut(remaining), 2000, 10)).toBe(true);
    for (const tab of remaining) {
      expect((await eventsOf(tab)).filter((e) => e.e === 'revoked').map((e) => e.x.reason)).toEqual(['revoked']);
    }
    expect(await eventually(async () => ((await dumpBrowserStorage(remaining[0]!)).databases.tessera as { items: { keys: unknown[] } }).items.keys.length === 0, 2000)).toBe(true);
    expect(await phoneTab.evaluate(() => w().client.state.status)).toBe('signed-in');

    // An administrator ends the phone's session: told with the reason `admin`.
    const phoneSid = await phoneTab.evaluate(() => w().client.state.session!.id);
    const response = await fetch(`${service.origin}/v1/admin/sessions/${phoneSid}`, { method: 'DELETE', headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.status).toBeLessThan(300);
    expect(await eventually(async () => (await status(phoneTab)) === 'signed-out', 2000, 10)).toBe(true);
    expect((await eventsOf(phoneTab)).filter((e) => e.e === 'revoked').map((e) => e.x.reason)).toEqual(['admin']);
    await laptop.close();
    await phone.close();
  }, 30_000);

  it('the events socket comes back after the service restarts (backoff), and still delivers the revocation', async () => {
    const context = await browser.newContext();
    const tabs = [await openTab(context), await openTab(context)];
    const sid = await login(tabs[0]!);
    expect(await eventually(() => service.server.tessera.hub.socketCount === 1, 2000)).toBe(true);
    const sockets = service.eventSocketRequests.length;
    await service.restart(700);
    // Closed with 1001, the leader retries with backoff and jitter until the service is back.
    expect(await eventually(() => service.server.tessera.hub.socketCount === 1, 10_000)).toBe(true);
    const reconnects = service.eventSocketRequests.slice(sockets);
    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    expect(reconnects.length).toBeLessThan(6); // backoff, not a tight loop
    expect(await allSignedIn(tabs)).toBe(true);
    const response = await fetch(`${service.origin}/v1/admin/sessions/${sid}`, { method: 'DELETE', headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.status).toBeLessThan(300);
    expect(await eventually(() => allSignedOut(tabs), 2000, 10)).toBe(true);
    for (const tab of tabs) expect((await eventsOf(tab)).filter((e) => e.e === 'revoked').map((e) => e.x.reason)).toEqual(['admin']);
    await context.close();
  }, 30_000);

  it('offline past expiry: stays signed in, and catches up with one refresh when the network returns', async () => {
    const context = await browser.newContext();
    const tabs = [await openTab(context, { refreshMargin: 1000 }), await openTab(context, { refreshMargin: 1000 })];
    const sid = await login(tabs[0]!);
    expect(await eventually(() => allSignedIn(tabs), 2000)).toBe(true);
    await context.setOffline(true);
    await sleep(ACCESS_TTL * 1.5); // every token has expired; the refreshes failed with network_error
    expect(await allSignedIn(tabs)).toBe(true); // a network failure is not a logout
    const offlineError = await tabs[1]!.evaluate(() => w().client.getAccessToken().then(() => 'token', (e: { code: string }) => e.code));
    expect(offlineError).toBe('network_error');
    const before = service.refreshRequests.length;
    await context.setOffline(false); // 'online': each tab re-checks at once
    expect(await eventually(() => service.refreshRequests.length > before, 2000, 10)).toBe(true);
    await sleep(700);
    // Both tabs needed a token: one refresh, the other tab took its token. (A token lives at least
    // 1.5 s before its own refresh is due, so a second request within a second would be a duplicate.)
    const first = service.refreshRequests[before]!;
    expect(service.refreshRequests.slice(before).filter((r) => r.at - first.at < 1000)).toEqual([first]);
    expect(first.status).toBe(200);
    const [a, b] = await Promise.all(tabs.map(token));
    expect(a).toBe(b);
    expect(await tabs[1]!.evaluate(() => w().client.sessions.list().then((list) => list.length))).toBe(1);
    expect(eventsOfType('session.reuse_detected').filter((e) => e.sid === sid)).toEqual([]);
    await tabs[0]!.evaluate(() => w().client.logout());
    await context.close();
  }, 30_000);

  it('keeps no token and no exportable key in localStorage or IndexedDB; tampered items are discarded', async () => {
    for (const transport of ['header', 'cookie'] as const) {
      const context = await browser.newContext();
      const tabs = [await openTab(context, { transport, refreshMargin: 1000 }), await openTab(context, { transport, refreshMargin: 1000 })];
      await login(tabs[0]!);
      expect(await eventually(() => allSignedIn(tabs), 2000)).toBe(true);
      const seen = new Set<string>();
      const refreshTokens = new Set<string>();
      const collect = async () => {
        for (const tab of tabs) seen.add((await token(tab))!);
        const refresh = await tabs[0]!.evaluate(() => w().client.storage.getItem<string>('tessera:refresh-token'));
        if (refresh) refreshTokens.add(refresh);
      };
      await tabs[1]!.evaluate(() => w().client.storage.setItem('profile', { theme: 'dark' }));
      for (let i = 0; i < 3; i++) {
        await collect();
        const dump = await dumpBrowserStorage(tabs[i % 2]!);
        for (const secret of [...seen, ...refreshTokens]) for (const form of secretForms(secret)) expect(dump.text).not.toContain(form);
        expect(dump.local).toEqual({});
        expect(dump.keys.length).toBe(1);
        for (const key of dump.keys) expect(key).toEqual({ extractable: false, exportRaw: 'InvalidAccessError', exportJwk: 'InvalidAccessError' });
        if (transport === 'cookie') expect(dump.text).not.toContain('tessera:refresh-token');
        await sleep(ACCESS_TTL * 0.8);
      }
      await collect();
      expect(seen.size).toBeGreaterThanOrEqual(3); // tokens really rotated while we looked
      expect(refreshTokens.size).toBe(transport === 'header' ? seen.size : 0);
      // The refresh cookie is HttpOnly: script never sees it.
      expect(await tabs[0]!.evaluate(() => document.cookie)).toBe('');

      if (transport === 'header') {
        // Tampering: a flipped ciphertext bit, a replaced IV, a ciphertext moved to another item.
        const result = await tabs[0]!.evaluate(async () => {
          const storage = w().client.storage;
          await storage.setItem('a', { secret: 1 });
          await storage.setItem('b', { secret: 2 });
          await storage.setItem('c', { secret: 3 });
          const db = await new Promise<IDBDatabase>((resolve) => {
            const request = indexedDB.open('tessera');
            request.onsuccess = () => resolve(request.result);
          });
          await new Promise<void>((resolve) => {
            const tx = db.transaction('items', 'readwrite');
            const items = tx.objectStore('items');
            const a = items.get('a');
            const c = items.get('c');
            tx.oncomplete = () => resolve();
            c.onsuccess = () => {
              const recA = a.result as { c: ArrayBuffer; iv: Uint8Array };
              const flipped = new Uint8Array(recA.c.slice(0));
              flipped[0]! ^= 1;
              items.put({ ...recA, c: flipped.buffer }, 'a');
              const recC = c.result as { iv: Uint8Array };
              items.put({ ...recC, iv: crypto.getRandomValues(new Uint8Array(12)) }, 'c');
              items.put(recA, 'b'); // a's genuine ciphertext under b's name
            };
          });
          db.close();
          const values = [await storage.getItem('a'), await storage.getItem('b'), await storage.getItem('c')];
          const after = [await storage.getItem('a'), await storage.getItem('b'), await storage.getItem('c')];
          return { values, after, discarded: w().discarded };
        });
        expect(result.values).toEqual([null, null, null]);
        expect(result.after).toEqual([null, null, null]);
        expect(result.discarded).toEqual([
          ['a', 'tampered'],
          ['b', 'tampered'],
          ['c', 'tampered'],
        ]);
      }
      await tabs[0]!.evaluate(() => w().client.logout());
      await context.close();
    }
  }, 60_000);

  it('without Web Locks and BroadcastChannel (older browsers): storage-event fallback, no reuse, logout everywhere', async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });
      delete (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel;
    });
    const tabs = [await openTab(context, { refreshMargin: 1000 }), await openTab(context, { refreshMargin: 1000 }), await openTab(context, { refreshMargin: 1000 })];
    expect(await tabs[0]!.evaluate(() => typeof BroadcastChannel + typeof navigator.locks)).toBe('undefinedundefined');
    const before = service.refreshRequests.length;
    const startedAt = Date.now();
    const sid = await login(tabs[0]!);
    expect(await eventually(() => allSignedIn(tabs), 3000)).toBe(true);
    await sleep(ACCESS_TTL * 2.5);
    expect(await allSignedIn(tabs)).toBe(true);
    const refreshes = service.refreshRequests.slice(before);
    expect(refreshes.every((r) => r.status === 200)).toBe(true);
    // Without a token handover each tab rotates for itself (the storage event must not carry
    // tokens), but at most once per cycle each (a token lives 2-3 s and is refreshed at 3/4 of
    // its life: a cycle is at least half of ACCESS_TTL), plus its first token: no storm, no loop.
    const cycles = Math.ceil((Date.now() - startedAt) / (ACCESS_TTL / 2));
    expect(refreshes.length).toBeLessThanOrEqual(tabs.length * (cycles + 1));
    expect(eventsOfType('session.reuse_detected').filter((e) => e.sid === sid)).toEqual([]);
    for (const tab of tabs) expect((await tab.evaluate(() => w().client.sessions.list())).length).toBe(1);

    await tabs[2]!.evaluate(() => w().client.logout());
    expect(await eventually(() => allSignedOut(tabs), 1000, 10)).toBe(true);
    expect((await dumpBrowserStorage(tabs[0]!)).local).toEqual({});
    await context.close();
  }, 60_000);
});
