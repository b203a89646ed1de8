/**
 * The built apps served by `tessera serve`: files from memory with the right types and caching, the
 * history-mode fallback for page loads only, `/admin` → `/admin/`, and the API never shadowed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '@tessera/core';
import { loadBuiltApps, serveBuiltApps } from './built-apps.js';
import { buildServer, type TesseraServer } from './server.js';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

function fakeDist(root: string, title: string, base: string): string {
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), `<!doctype html><title>${title}</title><script type="module" src="${base}assets/index-abc123.js"></script>`);
  writeFileSync(join(root, 'assets/index-abc123.js'), `console.log(${JSON.stringify(title)});`);
  writeFileSync(join(root, 'assets/index-abc123.css'), 'body{margin:0}');
  writeFileSync(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return root;
}

describe('the built shop and dashboard, served by the service', () => {
  let dir: string;
  let server: TesseraServer;
  let origin: string;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(origin + path, { method, headers, redirect: 'manual' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-built-apps-'));
    const apps = loadBuiltApps({
      '@tessera/shop': fakeDist(join(dir, 'shop'), 'shop', '/'),
      '@tessera/admin': fakeDist(join(dir, 'admin'), 'admin', '/admin/'),
    });
    expect(apps.map((app) => [app.name, app.mount])).toEqual([
      ['@tessera/admin', '/admin/'],
      ['@tessera/shop', '/'],
    ]);
    server = await buildServer({ store: new MemoryStore(), issuer: 'http://localhost', audience: 'tessera', adminKey: 'built-apps-test-admin-key-0123456789abcdef', processMetrics: false });
    serveBuiltApps(server, apps);
    origin = await server.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the shop at / with a strict Content-Security-Policy, and revalidates the page', async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toContain('<title>shop</title>');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = response.headers.get('etag')!;
    expect((await get('/', { 'if-none-match': etag })).status).toBe(304);
  });

  it('serves hashed assets for a year, with their types', async () => {
    const script = await get('/assets/index-abc123.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('content-security-policy')).toBeNull(); // a page header, not an asset's
    expect((await get('/assets/index-abc123.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await get('/favicon.svg')).headers.get('content-type')).toBe('image/svg+xml');
    const head = await get('/assets/index-abc123.js', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers a page load of an app route with the app (history-mode routing), and nothing else', async () => {
    for (const path of ['/devices', '/cart', '/login?redirect=%2Fcart']) {
      const page = await get(path, HTML);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>shop</title>');
    }
    // A script, an image or a fetch that misses is a 404 of the API, not the page.
    for (const [path, headers] of [
      ['/devices', {}],
      ['/assets/missing.js', HTML],
      ['/nothing.png', HTML],
    ] as const) {
      const missing = await get(path, headers);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it('serves the dashboard under /admin/, and sends /admin there', async () => {
    const bare = await get('/admin', HTML);
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/admin/');
    for (const path of ['/admin/', '/admin/users/usr_1']) {
      const page = await get(path, HTML);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>admin</title>');
    }
    expect(await (await get('/admin/assets/index-abc123.js')).text()).toBe('console.log("admin");');
  });

  it('never shadows the API, whatever the request accepts', async () => {
    const sessions = await get('/v1/sessions', HTML);
    expect(sessions.status).toBe(401);
    expect(sessions.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await get('/.well-known/jwks.json', HTML)).headers.get('content-type')).toMatch(/^application\/json/);
    expect((await get('/healthz', HTML)).status).toBe(200);
    expect((await get('/v1/admin/events', HTML)).status).toBe(401);
    // Writes are never the apps'.
    const post = await fetch(`${origin}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(404);
  });

  it('takes no path to the file system: traversal and odd escapes find nothing', async () => {
    // Sent as written (fetch would normalise the dot segments away first).
    const raw = (path: string) =>
      new Promise<{ status: number; type: string }>((resolve, reject) =>
        httpGet({ host: '127.0.0.1', port: new URL(origin).port, path }, (response) => {
          response.resume();
          resolve({ status: response.statusCode!, type: String(response.headers['content-type']) });
        }).on('error', reject),
      );
    for (const path of ['/../../etc/passwd', '/assets/../../package.json', '/..%2f..%2fetc%2fpasswd', '/admin/%2e%2e/%2e%2e/index.html', '/assets/%2e%2e%2findex.html', '/%E0%A4%A']) {
      const response = await raw(path);
      expect([400, 404], path).toContain(response.status); // the API's answer (a malformed escape is a 400)
      expect(response.type, path).toMatch(/^application\/json/);
    }
    // A page load of such a path is just a page load: the app, which routes it to its own "not found".
    expect(await (await get('/..%2f..%2fetc%2fpasswd', HTML)).text()).toContain('<title>shop</title>');
  });
});

describe('without built apps', () => {
  it('finds none, and the service serves its API only', async () => {
    const apps = loadBuiltApps({ '@tessera/shop': '/nonexistent/shop/dist', '@tessera/admin': '/nonexistent/admin/dist' });
    expect(apps).toEqual([]);
    const server = await buildServer({ store: new MemoryStore(), issuer: 'http://localhost', audience: 'tessera', processMetrics: false });
    serveBuiltApps(server, apps);
    const origin = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect((await fetch(`${origin}/`, { headers: HTML })).status).toBe(404);
      expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
