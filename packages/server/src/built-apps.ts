/**
 * The demo shop at `/` and the admin dashboard at `/admin/`, served by `tessera serve` once they are
 * built (`npm run build`): the `dist` folders of the `@tessera/shop` and `@tessera/admin` packages,
 * found by resolving those packages from here, as Node resolves any dependency. Not installed or not
 * built: the service starts without them and serves its API alone.
 *
 * The files (a few hundred KB) are read once at start and served from memory, so no request path
 * ever reaches the file system and there is no traversal to defend against. Content-hashed assets
 * are cached for a year; pages revalidate. A page load (GET, `Accept: text/html`, no file
 * extension) of a path the app has no file for gets its `index.html` (history-mode routing);
 * anything else that matches nothing is the API's 404, and no API path is ever the apps'.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const BUILT_APPS = [
  { name: '@tessera/admin', mount: '/admin/' },
  { name: '@tessera/shop', mount: '/' },
] as const;

export type BuiltAppName = (typeof BUILT_APPS)[number]['name'];

export interface BuiltApp {
  name: BuiltAppName;
  /** The URL prefix, ending in `/`. */
  mount: string;
  /** Path below the mount (`index.html`, `assets/index-3f2a.js`) → file. */
  files: ReadonlyMap<string, BuiltFile>;
}

interface BuiltFile {
  body: Buffer;
  type: string;
  etag: string;
  /** Content-hashed (Vite's `assets/`): its URL changes whenever it does. */
  immutable: boolean;
}

/** Paths that are always the API's, whatever an app holds. */
const API_PATHS = /^\/(?:v1(?:\/|$)|\.well-known\/|healthz$|readyz$|metrics$|openapi\.json$)/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/**
 * The pages hold a session: same-origin everything, no inline script or style, no framing, so that
 * injected markup finds nowhere to load code from or send data to (OWASP ASVS 4.0.3 V14.4.3, V14.4.7).
 * `connect-src 'self'` covers the events WebSocket on the same host (CSP Level 3).
 */
const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/**
 * The built apps that can be found. `dists` replaces the package lookup for some of them (tests);
 * a folder without an `index.html` is an app that was not built.
 */
export function loadBuiltApps(dists: Partial<Record<BuiltAppName, string>> = {}): BuiltApp[] {
  const require = createRequire(import.meta.url);
  const apps: BuiltApp[] = [];
  for (const { name, mount } of BUILT_APPS) {
    let dist = dists[name];
    if (dist === undefined) {
      try {
        dist = join(dirname(require.resolve(`${name}/package.json`)), 'dist');
      } catch {
        continue; // not installed (an install of @tessera/server outside this repository)
      }
    }
    if (!existsSync(join(dist, 'index.html'))) continue; // not built
    try {
      apps.push({ name, mount, files: readTree(dist) });
    } catch {
      // Being rebuilt right now (a file went between listing and reading): start without it.
    }
  }
  return apps;
}

function readTree(root: string): Map<string, BuiltFile> {
  const files = new Map<string, BuiltFile>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      const url = relative(root, path).split(sep).join('/');
      const body = readFileSync(path);
      files.set(url, {
        body,
        type: TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        immutable: url.startsWith('assets/'),
      });
    }
  };
  walk(root);
  return files;
}

/** Serves `apps` from the service (before `listen`): `GET`/`HEAD` routes; everything else is untouched. */
export function serveBuiltApps(server: FastifyInstance, apps: readonly BuiltApp[]): void {
  if (apps.length === 0) return;
  // Longest mount first: /admin/ before /.
  const ordered = [...apps].sort((a, b) => b.mount.length - a.mount.length);
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?', 1)[0]!;
    if (!API_PATHS.test(path)) {
      for (const app of ordered) {
        // `/admin` is the dashboard too, but its pages and assets are addressed under `/admin/`.
        if (app.mount !== '/' && path === app.mount.slice(0, -1)) return reply.redirect(app.mount, 308);
        if (!path.startsWith(app.mount)) continue;
        let name: string;
        try {
          name = decodeURIComponent(path.slice(app.mount.length));
        } catch {
          break; // a malformed escape: the API says so
        }
        const file = app.files.get(name === '' ? 'index.html' : name) ?? (isPageLoad(request, name) ? app.files.get('index.html') : undefined);
        if (file) return send(request, reply, file);
        break;
      }
    }
    return reply.callNotFound(); // the API's answer, as without the apps
  };
  server.get('/', handler);
  server.get('/*', handler);
}

/** A browser loading a page of a history-mode app (not a missing script or image, not a fetch). */
function isPageLoad(request: FastifyRequest, name: string): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html') && extname(name.split('/').pop() ?? '') === '';
}

function send(request: FastifyRequest, reply: FastifyReply, file: BuiltFile): FastifyReply {
  reply.header('Content-Type', file.type).header('ETag', file.etag).header('X-Content-Type-Options', 'nosniff');
  reply.header('Cache-Control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (file.type.startsWith('text/html')) reply.headers(PAGE_HEADERS);
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.code(200).send(request.method === 'HEAD' ? undefined : file.body);
}
