/** What a person does in the shop and the dashboard, as Playwright steps; and what the tests look at. */
import { expect } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';

export const PASSWORD = 'correct horse battery staple';

export interface SignedIn {
  sessionId: string;
  accessToken: string;
  /** The `__Host-` refresh cookie the service set. */
  refreshCookie: string;
}

/** Collects the page's uncaught errors, and anything its Content-Security-Policy refused, into `errors`. */
export function watchPage(page: Page, errors: string[]): Page {
  page.on('pageerror', (error) => errors.push(`${page.url()}: ${String(error)}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) errors.push(`${page.url()}: ${message.text()}`);
  });
  return page;
}

/** Opens a tab of the shop at `path`; page errors are collected in `errors`. */
export async function openShop(context: BrowserContext, origin: string, errors: string[], path = '/'): Promise<Page> {
  const page = watchPage(await context.newPage(), errors);
  await page.goto(origin + path);
  return page;
}

/** Fills in the sign-in page and waits to be taken on into the shop. */
export async function signIn(page: Page, username: string, deviceName: string, password = PASSWORD): Promise<SignedIn> {
  await page.getByLabel('Username').waitFor();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Name this device').fill(deviceName);
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/auth/login' && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  expect(response.status()).toBe(200);
  const body = (await response.json()) as { accessToken: string; session: { id: string } };
  await page.waitForURL((url) => url.pathname !== '/login');
  const cookie = (await page.context().cookies()).find((c) => c.name === '__Host-tessera_refresh');
  expect(cookie?.httpOnly).toBe(true);
  return { sessionId: body.session.id, accessToken: body.accessToken, refreshCookie: cookie!.value };
}

export const cartCount = (page: Page) => page.getByTestId('cart-count').textContent();

/** The notice the sign-in page shows after a remote sign-out: `[reason, title]`, or null. */
export async function signOutNotice(page: Page): Promise<[string, string] | null> {
  const notice = page.getByTestId('sign-out-notice');
  if (!(await notice.isVisible())) return null;
  return [(await notice.getAttribute('data-reason'))!, (await notice.locator('.notice-title').textContent())!.trim()];
}

/**
 * The Tessera IndexedDB database of this origin, as stored: the number of keys, and each item's
 * name with its stored bytes as text (to show that nothing readable is there). Opens only a database
 * that exists (opening a missing one would create it empty, without the client's object stores).
 */
export function storedItems(page: Page): Promise<{ keys: number; items: Record<string, string> }> {
  return page.evaluate(async () => {
    if (!(await indexedDB.databases()).some((info) => info.name === 'tessera')) return { keys: 0, items: {} };
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('tessera');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    try {
      return await new Promise<{ keys: number; items: Record<string, string> }>((resolve, reject) => {
        const tx = db.transaction(['keys', 'items'], 'readonly');
        const keys = tx.objectStore('keys').count();
        const names = tx.objectStore('items').getAllKeys();
        const values = tx.objectStore('items').getAll();
        tx.oncomplete = () => {
          const items: Record<string, string> = {};
          const text = (value: unknown) =>
            JSON.stringify(value, (_key, v: unknown) => (v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? new TextDecoder().decode(v as ArrayBuffer) : v));
          names.result.forEach((name, i) => (items[String(name)] = text(values.result[i])));
          resolve({ keys: keys.result, items });
        };
        tx.onerror = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  });
}

/** The service's answer to a request with this access token (`GET /v1/sessions`). */
export async function accessTokenWorks(origin: string, accessToken: string): Promise<{ status: number; code?: string }> {
  const response = await fetch(`${origin}/v1/sessions`, { headers: { authorization: `Bearer ${accessToken}` } });
  const body = (await response.json()) as { error?: { code: string } };
  return { status: response.status, ...(body.error ? { code: body.error.code } : {}) };
}

/** The service's answer to a cookie refresh with this refresh cookie (with the CSRF proofs a page sends). */
export async function refreshCookieWorks(origin: string, refreshCookie: string): Promise<{ status: number; code?: string }> {
  const response = await fetch(`${origin}/v1/auth/refresh`, {
    method: 'POST',
    headers: { cookie: `__Host-tessera_refresh=${refreshCookie}`, origin, 'x-tessera-csrf': '1', 'content-type': 'application/json' },
    body: '{}',
  });
  const body = (await response.json()) as { error?: { code: string } };
  return { status: response.status, ...(body.error ? { code: body.error.code } : {}) };
}
