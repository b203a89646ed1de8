/**
 * A router guard: signed-out visitors of protected routes go to the login route, which sends them
 * back after login; a tab whose session ends (logout or revocation, here or in another tab) leaves
 * its protected page at once.
 *
 *   installSessionGuard(router, client, { loginRoute: { name: 'login' } });
 *   // routes opt in with meta: { requiresAuth: true }
 */
import type { RouteLocationNormalizedLoaded, RouteLocationRaw, Router } from 'vue-router';
import type { TesseraClient } from '@tessera/client';
import { safeRedirect } from './redirect.js';

declare module 'vue-router' {
  interface RouteMeta {
    /** Only signed-in users may see this route (and its children). */
    requiresAuth?: boolean;
  }
}

export interface SessionGuardOptions {
  /** Where signed-out users are sent. */
  loginRoute: RouteLocationRaw;
  /** Which routes need a session. Default: a matched record with `meta.requiresAuth`. */
  requiresAuth?: (route: RouteLocationNormalizedLoaded) => boolean;
  /** The query parameter that carries the way back. Default `redirect`. */
  redirectParam?: string;
  /** Where to go after login when there is no way back. Default `/`. */
  home?: string;
}

/** Installs the guard; returns a function that removes it. */
export function installSessionGuard(router: Router, client: Pick<TesseraClient, 'ready' | 'state' | 'on'>, options: SessionGuardOptions): () => void {
  const param = options.redirectParam ?? 'redirect';
  const requiresAuth = options.requiresAuth ?? ((route) => route.matched.some((record) => record.meta.requiresAuth));
  const loginPath = () => router.resolve(options.loginRoute).path;
  const toLogin = (route: RouteLocationNormalizedLoaded) => ({ path: loginPath(), query: { [param]: route.fullPath } });

  const removeGuard = router.beforeEach(async (to) => {
    await client.ready;
    const signedIn = client.state.status === 'signed-in';
    if (!signedIn && requiresAuth(to) && to.path !== loginPath()) return toLogin(to);
    // Already signed in (another tab logged in, or a bookmark): the login page forwards.
    if (signedIn && to.path === loginPath()) return safeRedirect(to.query[param], options.home);
    return true;
  });

  const stopListening = client.on('change', (state) => {
    const route = router.currentRoute.value;
    if (state.status === 'signed-out' && requiresAuth(route)) void router.replace(toLogin(route));
    else if (state.status === 'signed-in' && route.path === loginPath()) void router.replace(safeRedirect(route.query[param], options.home));
  });

  return () => {
    removeGuard();
    stopListening();
  };
}
