/**
 * The two transports of the refresh token, and the CSRF defence of the cookie one.
 *
 * `cookie`: the refresh token lives only in a cookie that script cannot read and that no other site
 * can set or receive — RFC 6265bis §4.1.3.2 (`__Host-` prefix: Secure, Path=/, no Domain, so a
 * sibling subdomain cannot plant or shadow it), §5.6.7 (SameSite=Strict: never sent on cross-site
 * requests), HttpOnly (§4.1.2.6). Development keeps the same attributes: browsers accept `Secure`
 * cookies on http://localhost.
 *
 * A state-changing request that the cookie authenticates must also prove it comes from our own
 * script (OWASP CSRF Prevention Cheat Sheet): a custom request header (`X-Tessera-CSRF: 1`, which a
 * cross-site form cannot send and a cross-site fetch cannot send without a CORS preflight we refuse),
 * an `Origin` on the allow-list ("Verifying Origin with standard headers"), and
 * `Content-Type: application/json` (not one of the "simple" types a form or a no-cors fetch can
 * send). SameSite alone is not enough: it does not cover same-site sibling origins or old browsers.
 *
 * `header`: native apps and cross-site backends keep the refresh token themselves and send it in the
 * JSON body; no cookie is involved, so there is nothing for a browser to forge.
 */
import { TesseraError } from '@tessera/core';
import { mediaType } from './http/body.js';
import type { Reply, RouteRequest } from './http/route.js';
import { headerValue, type RequestHeaders } from './http/types.js';

export type Transport = 'cookie' | 'header';

export const REFRESH_COOKIE = '__Host-tessera_refresh';
export const CSRF_HEADER = 'x-tessera-csrf';

const cookieAttributes = { httpOnly: true, secure: true, sameSite: 'strict', path: '/' } as const;

export function setRefreshCookie(reply: Reply, refreshToken: string, expiresAt: number, now: number): void {
  reply.setCookie(REFRESH_COOKIE, refreshToken, {
    ...cookieAttributes,
    maxAge: Math.max(0, Math.floor((expiresAt - now) / 1000)),
  });
}

export function clearRefreshCookie(reply: Reply): void {
  reply.clearCookie(REFRESH_COOKIE, cookieAttributes);
}

export function refreshCookieOf(request: Pick<RouteRequest, 'cookies'>): string | undefined {
  const value = request.cookies[REFRESH_COOKIE];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export function isJsonContentType(header: string | undefined): boolean {
  return mediaType(header) === 'application/json';
}

/**
 * Normalises a configured origin to the form browsers send in `Origin` (RFC 6454 §6.1: scheme and
 * host in lower case, default port omitted), or `null` if it is not a plain origin.
 */
export function normaliseOrigin(value: string): string | null {
  if (/\s/.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) return null;
  return url.origin;
}

export class CsrfGuard {
  readonly #allowed: ReadonlySet<string>;

  constructor(allowedOrigins: readonly string[]) {
    this.#allowed = new Set(allowedOrigins);
  }

  isAllowedOrigin(origin: string | undefined): boolean {
    return typeof origin === 'string' && this.#allowed.has(origin);
  }

  /** The checks that need no body: throws 403 `forbidden` naming the missing proof. */
  check(request: { headers: RequestHeaders }): void {
    if (!isJsonContentType(headerValue(request.headers, 'content-type'))) {
      throw new TesseraError('forbidden', 'a cookie request must have Content-Type: application/json');
    }
    if (headerValue(request.headers, CSRF_HEADER) !== '1') {
      throw new TesseraError('forbidden', 'a cookie request must carry the header X-Tessera-CSRF: 1');
    }
    if (!this.isAllowedOrigin(headerValue(request.headers, 'origin'))) {
      throw new TesseraError('forbidden', 'a cookie request must come from an allowed Origin');
    }
  }
}
