/**
 * @tessera/vue in real Chromium against a real Tessera service: the Pinia persistence plugin
 * (encrypted, asynchronous hydration, write-behind, cleared in every tab at logout and revocation)
 * and the router guard (to the login route and back).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { bundle, chromiumAvailability, eventually, launchChromium, startTestService, type TestService } from '../../client/src/testing/harness.js';

const availability = chromiumAvailability();
const PASSWORD = 'correct horse battery staple';

interface TestApp {
  client: import('@tessera/client').TesseraClient;
  persistence: import('./index.js').TesseraPersistence;
  router: import('vue-router').Router;
  cart: { items: string[]; coupon: string; add(item: string): void; $hydrated: Promise<void> };
  prefs: { theme: string; volatile: number; $hydrated: Promise<void> };
  writes(): number;
}
interface TestWindow {
  app: TestApp;
  startApp(): Promise<void>;
}
const w = () => window as unknown as TestWindow;

describe.skipIf(!availability.run)('@tessera/vue in Chromium against a real service', () => {
  let service: TestService;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (availability.failure) throw new Error(availability.failure);
    const entry = fileURLToPath(new URL('./testing/vue-entry.ts', import.meta.url));
    service = await startTestService({ policy: { accessTtl: 5000 }, scripts: { '/test/vue.js': await bundle(entry) } });
    await service.createUser('alice', PASSWORD);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    expect(pageErrors).toEqual([]);
  });

  async function start(page: Page, hash = ''): Promise<void> {
    await page.goto(`${service.origin}/test/page.html${hash}`);
    await page.addScriptTag({ url: '/test/vue.js' });
    await page.evaluate(() => {
      (window as unknown as { w: () => Window }).w = () => window;
      return w().startApp();
    });
  }

  async function openApp(context: BrowserContext, hash = ''): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await start(page, hash);
    return page;
  }

  const login = (page: Page) => page.evaluate((p) => w().app.client.login('alice', p), PASSWORD);
  const view = (page: Page) => page.evaluate(() => document.querySelector('#view')?.textContent ?? '');
  const route = (page: Page) => page.evaluate(() => w().app.router.currentRoute.value.fullPath);
  const cartOf = (page: Page) => page.evaluate(() => w().app.cart.items.slice());
  const idbItems = (page: Page) =>
    page.evaluate(
      () =>
        new Promise<string[]>((resolve) => {
          const request = indexedDB.open('tessera');
          request.onsuccess = () => {
            const tx = request.result.transaction('items', 'readonly');
            const keys = tx.objectStore('items').getAllKeys();
            tx.oncomplete = () => {
              request.result.close();
              resolve(keys.result as string[]);
            };
          };
        }),
    );

  it('a persisted store survives a reload, encrypted, and only its picked paths', async () => {
    const context = await browser.newContext();
    const page = await openApp(context);
    await login(page);
    const writesBefore = await page.evaluate(async () => {
      const { cart, prefs, persistence } = w().app;
      await Promise.all([cart.$hydrated, prefs.$hydrated, persistence.hydrated()]);
      return w().app.writes();
    });
    await page.evaluate(async () => {
      const { cart, prefs, persistence } = w().app;
      for (let i = 0; i < 50; i++) cart.add(`item-${i}`);
      cart.coupon = 'NOT-PERSISTED';
      prefs.theme = 'dark';
      prefs.volatile = 42;
      await persistence.flushed();
    });
    // Fifty synchronous mutations, written behind as one snapshot per store.
    expect((await page.evaluate(() => w().app.writes())) - writesBefore).toBe(2);
    expect((await idbItems(page)).sort()).toEqual(['pinia:cart', 'pinia:prefs']);

    await page.reload();
    await start(page);
    const restored = await page.evaluate(async () => {
      const { cart, prefs, persistence } = w().app; // the stores are created here
      const before = cart.items.length; // hydration is asynchronous: nothing yet
      await persistence.hydrated();
      return { before, items: cart.items.length, last: cart.items.at(-1), coupon: cart.coupon, theme: prefs.theme, volatile: prefs.volatile };
    });
    expect(restored).toEqual({ before: 0, items: 50, last: 'item-49', coupon: '', theme: 'dark', volatile: 0 });
    expect(await page.evaluate(() => w().app.client.state.status)).toBe('signed-in');

    // What IndexedDB holds is ciphertext: no item name, no theme in clear.
    const raw = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const request = indexedDB.open('tessera');
          request.onsuccess = () => {
            const tx = request.result.transaction('items', 'readonly');
            const all = tx.objectStore('items').getAll();
            tx.oncomplete = () => resolve(JSON.stringify(all.result, (_k, v: unknown) => (v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? new TextDecoder().decode(v as ArrayBuffer) : v)));
          };
        }),
    );
    expect(raw).not.toContain('item-49');
    expect(raw).not.toContain('dark');

    // A store changed before its hydration finished keeps its state, which then replaces the stored copy.
    await page.reload();
    await start(page);
    expect(
      await page.evaluate(async () => {
        const { prefs, persistence } = w().app; // created, and mutated in the same task: before hydration
        prefs.theme = 'solarized';
        await persistence.hydrated();
        await persistence.flushed();
        return prefs.theme;
      }),
    ).toBe('solarized');
    await page.reload();
    await start(page);
    expect(await page.evaluate(async () => (w().app.prefs, await w().app.persistence.hydrated(), w().app.prefs.theme))).toBe('solarized');

    await page.evaluate(() => w().app.client.logout());
    await context.close();
  }, 30_000);

  it('is empty after logout, in every tab, and after a reload', async () => {
    const context = await browser.newContext();
    const tabs = [await openApp(context), await openApp(context)];
    await login(tabs[0]!);
    expect(await eventually(async () => (await tabs[1]!.evaluate(() => w().app.client.state.status)) === 'signed-in', 2000)).toBe(true);
    await tabs[0]!.evaluate(async () => {
      w().app.cart.add('tea');
      await w().app.persistence.flushed();
    });
    await tabs[1]!.evaluate(async () => {
      w().app.prefs.theme = 'dark';
      await w().app.persistence.flushed();
    });

    await tabs[1]!.evaluate(() => w().app.client.logout());
    expect(await eventually(async () => (await cartOf(tabs[0]!)).length === 0, 1000, 10)).toBe(true);
    expect(await tabs[0]!.evaluate(() => w().app.prefs.theme)).toBe('light');
    expect(await idbItems(tabs[0]!)).toEqual([]);

    // The tab that did not log out does not write its old state back, and a reload finds nothing.
    await tabs[0]!.waitForTimeout(200);
    expect(await idbItems(tabs[0]!)).toEqual([]);
    await tabs[0]!.reload();
    await start(tabs[0]!);
    expect(await tabs[0]!.evaluate(async () => (await w().app.persistence.hydrated(), [w().app.cart.items.length, w().app.prefs.theme]))).toEqual([0, 'light']);
    await context.close();
  }, 30_000);

  it('is cleared in every tab when the session is revoked from another device', async () => {
    const laptop = await browser.newContext();
    const phone = await browser.newContext();
    const tabs = [await openApp(laptop), await openApp(laptop)];
    await login(tabs[0]!);
    expect(await eventually(async () => (await tabs[1]!.evaluate(() => w().app.client.state.status)) === 'signed-in', 2000)).toBe(true);
    await tabs[1]!.evaluate(async () => {
      w().app.cart.add('coffee');
      await w().app.persistence.flushed();
    });
    const laptopSid = await tabs[0]!.evaluate(() => w().app.client.state.session!.id);
    const phoneTab = await openApp(phone);
    await login(phoneTab);
    await phoneTab.evaluate((sid) => w().app.client.sessions.revoke(sid), laptopSid);
    for (const tab of tabs) expect(await eventually(async () => (await cartOf(tab)).length === 0, 2000, 10)).toBe(true);
    expect(await eventually(async () => (await idbItems(tabs[0]!)).length === 0, 2000)).toBe(true);
    await laptop.close();
    await phone.close();
  }, 30_000);

  it('the router guard sends signed-out users to login and back, and leaves protected pages when the session ends', async () => {
    const context = await browser.newContext();
    const page = await openApp(context, '#/account');
    expect(await route(page)).toBe('/login?redirect=/account');
    expect(await view(page)).toBe('login:anonymous');

    await login(page);
    expect(await eventually(async () => (await route(page)) === '/account', 2000)).toBe(true);
    const userId = await page.evaluate(() => w().app.client.state.userId);
    expect(await eventually(async () => (await view(page)) === `account:${userId}`, 1000)).toBe(true);

    // An open redirect is refused: the way back is a path on this origin or home.
    await page.evaluate(() => w().app.router.push('/login?redirect=//evil.example/x'));
    expect(await eventually(async () => (await route(page)) === '/', 1000)).toBe(true);

    // Logout in another tab: this tab leaves its protected page for the login page.
    await page.evaluate(() => w().app.router.push('/account'));
    const other = await openApp(context);
    await other.evaluate(() => w().app.client.logout());
    expect(await eventually(async () => (await route(page)) === '/login?redirect=/account', 1000, 10)).toBe(true);
    await context.close();
  }, 30_000);
});
