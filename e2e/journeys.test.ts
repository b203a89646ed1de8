/**
 * The user journeys of the demo shop and the admin dashboard, in Debian's Chromium (playwright-core),
 * against a real Tessera service on SQLite and on Redis that serves both apps from its own origin.
 * Nothing is mocked: cookies, CSRF proofs, Web Locks, BroadcastChannel, IndexedDB, WebCrypto, the
 * events WebSocket and the stores are the real ones.
 *
 * The SQLite run takes the README's screenshots. They go to docs/screenshots/ when one is missing or
 * with TESSERA_SCREENSHOTS=update (so that an ordinary test run leaves the committed ones alone), to
 * a temporary folder otherwise.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { skipWithoutRedis } from '../packages/redis/src/testing/redis-server.js';
import { chromiumAvailability, launchChromium, newDevice } from './support/browser.js';
import { buildApps, REPO_ROOT } from './support/build-apps.js';
import { ADMIN_KEY, startDemoService, type DemoService, type StoreKind } from './support/service.js';
import { accessTokenWorks, cartCount, openShop, PASSWORD, refreshCookieWorks, signIn, signOutNotice, storedItems, watchPage } from './support/shop.js';

const availability = chromiumAvailability();
const SCREENSHOTS = join(REPO_ROOT, 'docs/screenshots');
const UPDATE_SCREENSHOTS = process.env.TESSERA_SCREENSHOTS === 'update';
/** The pushed sign-out must reach an idle device within this long. */
const PUSH_BUDGET_MS = 1000;

let built = false;

const stores: StoreKind[] = ['sqlite', 'redis'];

describe.skipIf(!availability.run).each(stores)('the shop and the dashboard in Chromium, on %s', (store) => {
  const skip = store === 'redis' && skipWithoutRedis();
  let service: DemoService;
  /** TESSERA_MAX_SESSIONS_PER_USER=1. */
  let limited: DemoService;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  const screenshots = store === 'sqlite';

  beforeAll(async () => {
    if (availability.failure) throw new Error(availability.failure);
    if (skip) return;
    if (!built) {
      buildApps();
      built = true;
    }
    [service, limited, browser] = await Promise.all([startDemoService({ store }), startDemoService({ store, maxSessionsPerUser: 1 }), launchChromium()]);
    if (screenshots) mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await service?.close();
    await limited?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    expect(pageErrors).toEqual([]);
  });

  async function device(shape: Parameters<typeof newDevice>[1]): Promise<BrowserContext> {
    const context = await newDevice(browser, shape);
    context.setDefaultTimeout(5000); // a step that hangs fails here, with its name, well before the test's timeout
    contexts.push(context);
    return context;
  }
  const shop = (context: BrowserContext, on: DemoService = service, path = '/') => openShop(context, on.origin, pageErrors, path);
  let scratch: string | undefined;
  const shot = async (page: Page, name: string) => {
    if (!screenshots) return;
    const committed = join(SCREENSHOTS, `${name}.png`);
    const path = UPDATE_SCREENSHOTS || !existsSync(committed) ? committed : join((scratch ??= mkdtempSync(join(tmpdir(), 'tessera-screenshots-'))), `${name}.png`);
    await page.screenshot({ path });
  };

  it.skipIf(skip)('1. sign in, fill the cart, reload: still signed in with the cart; sign out: the cart is gone, also from storage', async () => {
    // `tessera serve` said where the apps are (its lines may arrive in separate chunks: wait for each).
    await expect.poll(() => service.stdout()).toContain(`the shop:             ${service.origin}/\n`);
    await expect.poll(() => service.stdout()).toContain(`the admin dashboard:  ${service.origin}/admin/\n`);
    await service.createUser('ada', PASSWORD);
    const laptop = await device('laptop');
    const page = await shop(laptop);
    await page.waitForURL((url) => url.pathname === '/login'); // the guard sends a signed-out visitor to sign in
    await signIn(page, 'ada', 'Ada’s laptop');

    await page.getByRole('button', { name: 'Add Ravenna Gold to cart' }).click();
    await page.getByRole('button', { name: 'Add Ravenna Gold to cart' }).click();
    await page.getByRole('button', { name: 'Add Byzantine Blue to cart' }).click();
    expect(await cartCount(page)).toBe('3');
    // Written behind, encrypted: the item is there, and nothing of it is readable.
    await expect.poll(async () => Object.keys((await storedItems(page)).items)).toEqual(['pinia:cart']);
    const stored = await storedItems(page);
    expect(stored.keys).toBe(1);
    expect(stored.items['pinia:cart']).not.toMatch(/ravenna|byzantine|qty/i);
    await shot(page, 'shop');

    await page.reload();
    await page.getByTestId('cart-count').waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    await expect.poll(() => cartCount(page)).toBe('3');
    await page.getByRole('link', { name: /Cart/ }).click();
    await expect.poll(() => page.locator('.cart-line').count()).toBe(2);
    expect(await page.getByTestId('cart-total').textContent()).toBe('€110.00');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    expect(await signOutNotice(page)).toBeNull(); // this device asked: nothing to explain
    await expect.poll(() => storedItems(page)).toEqual({ keys: 0, items: {} }); // key and data destroyed
    await page.reload();
    await page.getByLabel('Username').waitFor();
    expect(new URL(page.url()).pathname).toBe('/login');
    await signIn(page, 'ada', 'Ada’s laptop');
    expect(await cartCount(page)).toBe('0');
    expect((await storedItems(page)).items).toEqual({});
  });

  it.skipIf(skip)('2. with one device allowed, signing in on B tells A at once, with no action on A, and A’s tokens stop working', async () => {
    await limited.createUser('eve', PASSWORD);
    const a = await shop(await device('phone'), limited);
    const onA = await signIn(a, 'eve', 'Eve’s phone');
    await a.getByRole('button', { name: 'Add Olive Grove to cart' }).click();
    await expect.poll(async () => Object.keys((await storedItems(a)).items)).toEqual(['pinia:cart']);

    const b = await shop(await device('laptop'), limited);
    const onB = await signIn(b, 'eve', 'Eve’s laptop');
    const signedInOnB = Date.now();
    await a.locator('[data-testid="sign-out-notice"][data-reason="evicted"]').waitFor({ timeout: PUSH_BUDGET_MS });
    const delay = Date.now() - signedInOnB;
    expect(delay).toBeLessThan(PUSH_BUDGET_MS);
    expect(await signOutNotice(a)).toEqual(['evicted', 'You signed in on another device']);
    expect(new URL(a.url()).pathname).toBe('/login');
    await shot(a, 'signed-out');

    expect(await accessTokenWorks(limited.origin, onA.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    expect(await refreshCookieWorks(limited.origin, onA.refreshCookie)).toEqual({ status: 401, code: 'session_revoked' });
    await expect.poll(() => storedItems(a)).toEqual({ keys: 0, items: {} }); // A's cart went with its session
    // B is the one device, and works.
    expect((await accessTokenWorks(limited.origin, onB.accessToken)).status).toBe(200);
    expect((await limited.admin('GET', `/v1/admin/users/${await userIdOf(limited, onB.accessToken)}/sessions`)).body.sessions.map((s: { id: string }) => s.id)).toEqual([onB.sessionId]);
  });

  it.skipIf(skip)('3. three tabs on one device: signing out in one signs out all three', async () => {
    const userId = await service.createUser('ben', PASSWORD);
    const laptop = await device('laptop');
    const first = await shop(laptop);
    await signIn(first, 'ben', 'Ben’s laptop');
    const others = [await shop(laptop), await shop(laptop, service, '/devices')];
    for (const tab of others) {
      await tab.getByTestId('cart-count').waitFor(); // signed in from the first tab, no second login
      expect(new URL(tab.url()).pathname).not.toBe('/login');
    }
    const tabs = [first, ...others];
    expect((await service.admin('GET', `/v1/admin/users/${userId}/sessions`)).body.sessions).toHaveLength(1);

    await others[0]!.getByRole('button', { name: 'Sign out' }).click();
    for (const tab of tabs) await tab.waitForURL((url) => url.pathname === '/login', { timeout: 2000 });
    expect(await signOutNotice(others[0]!)).toBeNull();
    expect(await signOutNotice(first)).toEqual(['tab', 'You signed out in another tab']);
    expect(await signOutNotice(others[1]!)).toEqual(['tab', 'You signed out in another tab']);
    await expect.poll(async () => (await service.admin('GET', `/v1/admin/users/${userId}/sessions`)).body.sessions).toEqual([]);
  });

  it.skipIf(skip)('4. on B, signing out one device, then all other devices with the password: each is told it was signed out from another device', async () => {
    await service.createUser('cleo', PASSWORD);
    const laptop = await shop(await device('laptop'));
    const onLaptop = await signIn(laptop, 'cleo', 'Cleo’s laptop');
    const tablet = await shop(await device('tablet'));
    await signIn(tablet, 'cleo', 'Cleo’s tablet');
    const phone = await shop(await device('phone'));
    await signIn(phone, 'cleo', 'Cleo’s phone');

    await phone.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Your devices' }).click();
    const rows = phone.locator('li.device');
    await expect.poll(() => rows.count()).toBe(3);
    const current = phone.locator('li.device.current');
    expect(await current.locator('h2').textContent()).toContain('Cleo’s phone');
    expect(await current.locator('.this-device').textContent()).toBe('This device');
    expect(await rows.first().locator('.this-device').count()).toBe(1); // this device first
    const laptopRow = phone.locator('li.device', { hasText: 'Cleo’s laptop' });
    expect(await laptopRow.locator('p.muted').textContent()).toMatch(/^Computer · Chrome \d+ on Linux$/);
    expect(await laptopRow.locator('dd').first().textContent()).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
    expect(await phone.locator('li.device', { hasText: 'Cleo’s tablet' }).locator('p.muted').textContent()).toMatch(/^Tablet · Chrome \d+ on Android$/);
    await phone.evaluate(() => window.scrollTo(0, 0));
    await shot(phone, 'devices');

    // Revoke one.
    await phone.getByRole('button', { name: 'Sign out Cleo’s tablet' }).click();
    await tablet.locator('[data-testid="sign-out-notice"][data-reason="revoked"]').waitFor({ timeout: PUSH_BUDGET_MS * 2 });
    expect(await signOutNotice(tablet)).toEqual(['revoked', 'You were signed out from another device']);
    await expect.poll(() => rows.count()).toBe(2);

    // All the others, with the password (a wrong one first).
    await phone.getByRole('button', { name: 'Sign out all other devices' }).click();
    const dialog = phone.getByRole('dialog', { name: 'Sign out all other devices?' });
    await dialog.getByLabel('Password').fill('not my password at all');
    await dialog.getByRole('button', { name: 'Sign them out' }).click();
    expect(await dialog.getByRole('alert').textContent()).toBe('That password is not right.');
    expect(await signOutNotice(laptop)).toBeNull();
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Sign them out' }).click();
    await laptop.locator('[data-testid="sign-out-notice"][data-reason="revoked"]').waitFor({ timeout: PUSH_BUDGET_MS * 2 });
    expect(await signOutNotice(laptop)).toEqual(['revoked', 'You were signed out from another device']);
    expect(await phone.getByRole('status').filter({ hasText: 'Signed out' }).textContent()).toBe('Signed out 1 other device.');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await accessTokenWorks(service.origin, onLaptop.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
  });

  it.skipIf(skip)('5. the admin revokes a session in the dashboard, then all: each device is told so, and the feed shows it', async () => {
    const userId = await service.createUser('dan', PASSWORD);
    const laptop = await shop(await device('laptop'));
    const onLaptop = await signIn(laptop, 'dan', 'Dan’s laptop');
    await laptop.getByRole('button', { name: 'Add Starter Kit to cart' }).click();
    const phone = await shop(await device('phone'));
    const onPhone = await signIn(phone, 'dan', 'Dan’s phone');

    const admin = await device('laptop');
    const dashboard = watchPage(await admin.newPage(), pageErrors);
    await dashboard.setViewportSize({ width: 1280, height: 860 });
    await dashboard.goto(`${service.origin}/admin`);
    expect(new URL(dashboard.url()).pathname).toBe('/admin/');
    await dashboard.getByLabel('Admin key').fill('not the admin key, but long enough to look like one');
    await dashboard.getByRole('button', { name: 'Sign in' }).click();
    expect(await dashboard.getByRole('alert').textContent()).toBe('That admin key is not right.');
    await dashboard.getByLabel('Admin key').fill(ADMIN_KEY);
    await dashboard.getByRole('button', { name: 'Sign in' }).click();
    await dashboard.getByRole('heading', { name: 'Live events' }).waitFor();
    // The key stays in this tab's sessionStorage, never in localStorage.
    expect(await dashboard.evaluate(() => [localStorage.length, sessionStorage.getItem('tessera-admin-key') !== null])).toEqual([0, true]);

    // Dan's sign-in is in the feed; picking him there looks him up.
    const signInEvent = dashboard.locator(`li.event[data-type="session.created"][data-sid="${onLaptop.sessionId}"]`);
    await signInEvent.getByRole('button').click();
    const lookup = dashboard.getByLabel('Username or user id');
    expect(await lookup.inputValue()).toBe(userId);
    const laptopRow = dashboard.locator(`tr[data-session="${onLaptop.sessionId}"]`);
    expect(await laptopRow.locator('td').first().textContent()).toContain('Dan’s laptop');
    expect(await dashboard.locator('table.sessions tbody tr').count()).toBe(2);
    await dashboard.locator('.user-sessions h3 .username', { hasText: 'dan' }).waitFor(); // a built-in user: named
    // The lookup takes a username too (the service normalises it), or an application's own user id.
    await lookup.fill('someone-else');
    await dashboard.getByRole('button', { name: 'Look up' }).click();
    await dashboard.getByText('“someone-else” is not a built-in user’s name or id').waitFor();
    await dashboard.getByText('No live sessions.').waitFor();
    await lookup.fill('DAN');
    await dashboard.getByRole('button', { name: 'Look up' }).click();
    await dashboard.locator('.user-sessions h3 .username', { hasText: 'dan' }).waitFor();
    expect(await dashboard.locator('.user-sessions h3 .user-id').textContent()).toBe(userId);
    expect(await lookup.inputValue()).toBe('DAN');
    await expect.poll(() => dashboard.locator('table.sessions tbody tr').count()).toBe(2);
    // The signing keys with their times; exactly one signs now.
    await dashboard.locator('.keys li[data-state="signing"]').waitFor();
    expect(await dashboard.locator('.keys li[data-state="signing"] .pill').textContent()).toBe('signs now');
    expect(await dashboard.locator('.keys li[data-state="signing"] dt').allTextContents()).toEqual(['Published', 'Signs from', 'Retires', 'Leaves JWKS']);

    // One session.
    await laptopRow.getByRole('button', { name: 'Revoke the session on Dan’s laptop' }).click();
    await laptop.locator('[data-testid="sign-out-notice"][data-reason="admin"]').waitFor({ timeout: PUSH_BUDGET_MS * 2 });
    expect(await signOutNotice(laptop)).toEqual(['admin', 'Your session was ended by an administrator']);
    expect(await accessTokenWorks(service.origin, onLaptop.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    await dashboard.locator(`li.event[data-type="session.revoked"][data-reason="admin"][data-sid="${onLaptop.sessionId}"]`).waitFor();
    await expect.poll(() => dashboard.locator('table.sessions tbody tr').count()).toBe(1);
    expect(await signOutNotice(phone)).toBeNull(); // the other device is untouched
    // Every kind of event the journeys caused is in the feed.
    const types = await dashboard.locator('li.event').evaluateAll((items) => items.map((item) => `${item.getAttribute('data-type')}:${item.getAttribute('data-reason') ?? ''}`));
    expect(types).toEqual(expect.arrayContaining(['session.created:', 'session.revoked:logout', 'session.revoked:revoked', 'session.revoked:admin', 'login.failed:invalid_credentials']));
    expect(await dashboard.locator('.keys li').count()).toBeGreaterThan(0);
    await shot(dashboard, 'dashboard');

    // All of them (a second click confirms).
    const revokeAll = dashboard.getByRole('button', { name: 'Revoke all' });
    await revokeAll.click();
    await dashboard.getByRole('button', { name: 'Confirm: revoke all 1' }).click();
    await phone.locator('[data-testid="sign-out-notice"][data-reason="admin"]').waitFor({ timeout: PUSH_BUDGET_MS * 2 });
    expect(await accessTokenWorks(service.origin, onPhone.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    await dashboard.getByText('No live sessions.').waitFor();
    await dashboard.locator(`li.event[data-type="session.revoked"][data-reason="admin"][data-sid="${onPhone.sessionId}"]`).waitFor();
  });
});

async function userIdOf(service: DemoService, accessToken: string): Promise<string> {
  const introspected = await service.admin('POST', '/v1/admin/introspect', { token: accessToken });
  return introspected.body.sub as string;
}
