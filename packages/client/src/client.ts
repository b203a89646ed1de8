/**
 * The browser client of a Tessera service.
 *
 * What it keeps where (OWASP ASVS 4.0.3 V8.2.2, V3.5.2):
 * - the access token: in this tab's memory only, and passed to other tabs of the origin over
 *   BroadcastChannel (memory to memory, never the disk);
 * - the refresh token: with `cookie` (the default) in an HttpOnly cookie that script never sees;
 *   with `header` in the encrypted storage (AES-GCM under a non-extractable key), nowhere else;
 * - in IndexedDB, in clear: a non-secret record `{login, gen, exp}` (a random id of this sign-in, the
 *   number of refreshes, the access token's expiry) that every tab re-reads inside the refresh lock.
 *
 * Refresh is proactive (before expiry minus a margin, on the server's clock) and single-flight:
 * within a tab by sharing one promise, across tabs with a lock (Web Locks, or a lease). Inside the
 * lock the record is read first: when another tab already refreshed, its token is taken from it
 * (it broadcast the token; a tab that missed it asks) instead of rotating the refresh token again.
 */
import { backoffDelay } from './backoff.js';
import { createEncryptedStorage, randomId, type EncryptedStorage } from './encrypted-storage.js';
import { TesseraClientError } from './errors.js';
import { openEventsSocket } from './events-socket.js';
import { readRecord, writeRecord } from './idb.js';
import { refreshDelay } from './refresh-schedule.js';
import { clockOffset } from './server-clock.js';
import { openTabChannel, type TabMessage } from './tab-channel.js';
import { withTabLock } from './tab-lock.js';
import type { ClientEvents, Device, SessionState, SessionView, TokenResponse, Transport } from './types.js';

export interface TesseraClientOptions {
  /** The service's URL (`https://auth.example.com`), or `''` when it is served from this origin. */
  baseUrl: string;
  /** Where the refresh token lives: `cookie` (default; HttpOnly, script never sees it) or `header`. */
  transport?: Transport;
  /** Names the channel, the locks and the IndexedDB database; two clients with one namespace share a session. Default `tessera`. */
  namespace?: string;
  /** Refresh this long before the access token expires (at most a quarter of its lifetime). Default 60 s. */
  refreshMargin?: number;
  /** Keep the events WebSocket open (one per browser: the tabs elect a leader). Default true. */
  events?: boolean;
  /** The encrypted storage; default `createEncryptedStorage({ database: namespace })`. */
  storage?: EncryptedStorage;
}

export interface TesseraClient {
  /** The current state; `status` is `loading` until `ready` resolves. */
  readonly state: SessionState;
  /** Resolves when the client knows whether this browser is signed in (restored from another tab or by a refresh). */
  readonly ready: Promise<void>;
  /** The storage whose key and data are destroyed at logout and revocation (the Pinia plugin persists through it). */
  readonly storage: EncryptedStorage;
  login(username: string, password: string, device?: Device): Promise<SessionState>;
  /** Ends the session on the service and in every tab; local state is cleared even when the service is unreachable. */
  logout(): Promise<void>;
  /** A valid access token (refreshed first when due), or null when signed out. */
  getAccessToken(): Promise<string | null>;
  /** `fetch` with the bearer token; on a 401, refreshes once and retries once. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  readonly sessions: {
    list(): Promise<SessionView[]>;
    revoke(id: string): Promise<void>;
    revokeOthers(password: string): Promise<number>;
  };
  on<E extends keyof ClientEvents>(event: E, handler: (payload: ClientEvents[E]) => void): () => void;
  /** Stops timers, the socket and the channel of this tab (the session itself is untouched). */
  close(): void;
}

/** The shared, non-secret record of the signed-in session, in IndexedDB. */
interface SharedRecord {
  login: string;
  gen: number;
  exp: number;
}

interface Tokens {
  accessToken: string;
  expiresAt: number;
  lifetime: number;
  session: SessionView;
  userId: string | null;
  login: string;
  gen: number;
}

const REFRESH_ITEM = 'tessera:refresh-token';
/** How long a tab waits for another tab to hand over a token it refreshed. */
const HANDOVER_MS = 1_000;

export function createTesseraClient(options: TesseraClientOptions): TesseraClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const transport = options.transport ?? 'cookie';
  const ns = options.namespace ?? 'tessera';
  const margin = options.refreshMargin ?? 60_000;
  const storage = options.storage ?? createEncryptedStorage({ database: ns });
  const self = randomId();
  const handlers: { [E in keyof ClientEvents]?: Set<(payload: ClientEvents[E]) => void> } = {};
  const waiters = new Set<() => void>();

  let state: SessionState = { status: 'loading', userId: null, session: null, accessTokenExpiresAt: null };
  let tokens: Tokens | undefined;
  /** Server clock minus local clock. */
  let offset = 0;
  /** The last sign-in that ended: its tokens, still in flight between tabs, are refused. */
  let ended: string | undefined;
  let inflight: Promise<Tokens | undefined> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let stopPush: (() => void) | undefined;

  const serverNow = () => Date.now() + offset;
  const due = (t: Tokens) => refreshDelay(t.expiresAt, t.lifetime, margin, serverNow()) === 0;
  const record = () => readRecord<SharedRecord>(ns, 'state', 'session');
  const emit = <E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]) =>
    handlers[event]?.forEach((handler) => {
      try {
        handler(payload);
      } catch (error) {
        // An application handler's failure is reported, and does not stop the session's bookkeeping.
        setTimeout(() => {
          throw error;
        });
      }
    });

  const channel = openTabChannel(ns, self, receive);

  function setState(next: SessionState): void {
    state = next;
    emit('change', state);
  }

  // --- HTTP -------------------------------------------------------------------------------------

  /** A request to the service, with the CSRF proofs the cookie transport requires (OWASP CSRF Prevention Cheat Sheet). */
  async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = { 'X-Tessera-CSRF': '1' };
    if (body) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    const init: RequestInit = { method, headers, body: body ? JSON.stringify(body) : null, credentials: 'include', cache: 'no-store' };
    // A hung request must not hold the refresh lock (and every tab behind it) forever.
    if (typeof AbortSignal.timeout === 'function') init.signal = AbortSignal.timeout(15_000);
    return parse<T>(await send(base + path, init));
  }

  async function send(input: RequestInfo | URL, init: RequestInit): Promise<Response> {
    try {
      return await fetch(input, init);
    } catch (error) {
      throw new TesseraClientError('network_error', String(error), 0);
    }
  }

  async function parse<T>(response: Response): Promise<T> {
    const data = (await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
    if (response.ok) return data as T;
    const retry = Number(response.headers.get('Retry-After'));
    throw new TesseraClientError(data?.error?.code ?? 'http_error', data?.error?.message ?? response.statusText, response.status, retry || undefined);
  }

  /** Calls the token endpoint and takes the response; the caller holds the refresh lock. */
  async function obtain(path: string, body: object, login: string, gen: number): Promise<Tokens | undefined> {
    const sentAt = Date.now();
    const response = await call<TokenResponse>('POST', path, body);
    // The session ended (pushed revocation) while this refresh was on the wire: do not revive it.
    if (login === ended) return undefined;
    offset = clockOffset(response.serverTime, sentAt, Date.now());
    const next: Tokens = {
      accessToken: response.accessToken,
      expiresAt: response.accessTokenExpiresAt,
      // Exact, on the server's clock (`expiresIn` is whole seconds, and `exp` is too).
      lifetime: response.accessTokenExpiresAt - response.serverTime,
      session: response.session,
      userId: subjectOf(response.accessToken),
      login,
      gen,
    };
    // Persist before the lock is released: the next tab in the lock reads this first.
    if (response.refreshToken && !(await storage.setItem(REFRESH_ITEM, response.refreshToken))) {
      // Refused: the key this tab last used belonged to a session that has since ended. This token
      // is the live session's own, so it starts the new key.
      storage.reset();
      await storage.setItem(REFRESH_ITEM, response.refreshToken);
    }
    await writeRecord(ns, 'state', 'session', { login, gen, exp: next.expiresAt } satisfies SharedRecord).catch(() => undefined);
    share(next);
    adopt(next);
    return next;
  }

  // --- tokens and state ---------------------------------------------------------------------------

  function share(t: Tokens): void {
    channel.post({ type: 'tokens', from: self, ...t, offset });
  }

  function adopt(next: Tokens): void {
    const newLogin = tokens?.login !== next.login;
    if (newLogin) storage.reset();
    tokens = next;
    failures = 0;
    schedule();
    setState({ status: 'signed-in', userId: next.userId, session: next.session, accessTokenExpiresAt: next.expiresAt });
    if (!newLogin) emit('refresh', { accessTokenExpiresAt: next.expiresAt });
    if (options.events !== false) startPush();
    waiters.forEach((wake) => wake());
  }

  function schedule(): void {
    clearTimeout(timer);
    if (!tokens) return;
    const delay = failures ? backoffDelay(failures - 1) : refreshDelay(tokens.expiresAt, tokens.lifetime, margin, serverNow());
    timer = setTimeout(() => {
      refresh().catch(() => {
        failures++;
        schedule();
      });
    }, delay);
  }

  /**
   * Ends the session in this tab. `origin`: this tab learnt it first, so it tells the others and
   * destroys the shared record and the encrypted data (crypto-shredding: ASVS V8.2.3).
   */
  async function end(kind: 'logout' | 'revoked', reason: string, at: number | null, origin: boolean, login = tokens?.login): Promise<void> {
    const wasIn = state.status !== 'signed-out';
    ended = login;
    tokens = undefined;
    clearTimeout(timer);
    stopPush?.();
    stopPush = undefined;
    storage.reset();
    waiters.forEach((wake) => wake());
    if (origin) channel.post({ type: 'ended', from: self, login, kind, reason, at });
    if (wasIn) {
      setState({ status: 'signed-out', userId: null, session: null, accessTokenExpiresAt: null });
      if (kind === 'logout') emit('logout', { remote: !origin });
      else emit('revoked', { reason, at });
    }
    if (origin) await Promise.all([storage.destroy(), writeRecord(ns, 'state', 'session', undefined)]).catch(() => undefined);
  }

  /** Waits for another tab to hand over tokens of `rec` (asking for them), or gives up after `ms`. */
  function handover(rec: SharedRecord, ms: number): Promise<Tokens | undefined> {
    const have = () => (tokens && tokens.login === rec.login && tokens.gen >= rec.gen ? tokens : undefined);
    if (have() || !channel.carriesTokens) return Promise.resolve(have());
    return new Promise((resolve) => {
      const wake = () => {
        if (!have() && ended !== rec.login) return;
        waiters.delete(wake);
        clearTimeout(giveUp);
        resolve(have());
      };
      const giveUp = setTimeout(() => {
        waiters.delete(wake);
        resolve(undefined);
      }, ms);
      waiters.add(wake);
      channel.post({ type: 'want', from: self, login: rec.login, gen: rec.gen });
    });
  }

  /**
   * Fresh tokens, single-flight within the tab and across tabs. `stale`: a token the service just
   * refused (a 401), which must not be returned again. `seen`: the shared state as this tab last
   * knew it; a record that has moved past it means another tab refreshed or signed in meanwhile.
   */
  function refresh(stale?: string, seen: { login: string; gen: number } | undefined = tokens): Promise<Tokens | undefined> {
    inflight ??= withTabLock(`${ns}:refresh`, async () => {
      // Inside the lock, first re-read the shared state: another tab may have refreshed, signed in
      // or signed out while this one waited.
      const rec = await record().catch(() => null);
      if (rec === undefined) {
        // No record: signed out (in another tab, whose message may still be on its way).
        if (tokens) await end('logout', 'logout', null, false);
        return undefined;
      }
      if (rec?.login === ended) return undefined; // its origin tab is deleting it
      const usable = (t?: Tokens) => (t && !due(t) && t.accessToken !== stale ? t : undefined);
      if (rec && (!seen || rec.login !== seen.login || rec.gen > seen.gen)) {
        const handed = usable(await handover(rec, HANDOVER_MS));
        if (handed) return handed;
        if (rec.login === ended) return undefined;
      } else if (usable(tokens)) return tokens;
      const login = rec?.login ?? tokens?.login ?? randomId();
      let body = {};
      if (transport === 'header') {
        const refreshToken = await storage.getItem<string>(REFRESH_ITEM);
        if (!refreshToken) {
          await end('revoked', 'unknown', null, true, login);
          return undefined;
        }
        body = { refreshToken };
      }
      try {
        return await obtain('/v1/auth/refresh', body, login, Math.max(rec?.gen ?? 0, tokens?.gen ?? 0) + 1);
      } catch (error) {
        // 401: the session is over (revoked, expired, or the token unknown); anything else may pass.
        if (error instanceof TesseraClientError && error.status === 401) {
          // The refusal says that the session was revoked, not why; the pushed notice, on its way
          // over the events socket, does. Give it a moment so the application can tell the user.
          if (error.code === 'session_revoked' && stopPush) await new Promise((resolve) => setTimeout(resolve, 1000));
          await end('revoked', error.code === 'session_expired' ? 'expired' : 'unknown', null, true, login);
          return undefined;
        }
        throw error;
      }
    }).finally(() => (inflight = undefined));
    return inflight;
  }

  /** Re-checks the shared state: at start, when the page becomes visible again, when the network returns. */
  async function check(): Promise<void> {
    const rec = await record().catch(() => null);
    if (rec === undefined) {
      if (tokens) await end('logout', 'logout', null, false);
      return;
    }
    if ((!rec && !tokens) || rec?.login === ended) return;
    if (rec && (!tokens || rec.login !== tokens.login || rec.gen > tokens.gen)) {
      // Another tab has tokens this one has not seen; ask it before rotating the refresh token.
      // With the events socket on, a signed-in tab holds the leader lock, so a lone tab need not wait.
      const others = options.events === false || !navigator.locks || (await navigator.locks.query()).held?.some((l) => l.name === `${ns}:events`);
      if (others && (await handover(rec, 300))) return;
    } else if (tokens && !due(tokens)) return schedule();
    await refresh(undefined, rec ?? tokens);
  }

  function receive(message: TabMessage): void {
    const login = message.login as string;
    if (message.type === 'tokens') {
      if (login === ended) return;
      if (typeof message.accessToken !== 'string') {
        // The storage fallback carries no token: a tab that has none fetches its own.
        if (!tokens || tokens.login !== login) void check().catch(() => undefined);
        return;
      }
      const next = message as unknown as Tokens & { offset: number };
      if (tokens && tokens.login === login && tokens.gen >= next.gen) return;
      offset = next.offset;
      const { accessToken, expiresAt, lifetime, session, userId, gen } = next;
      adopt({ accessToken, expiresAt, lifetime, session, userId, login, gen });
    } else if (message.type === 'want') {
      if (tokens && tokens.login === login && tokens.gen >= (message.gen as number)) share(tokens);
    } else if (message.type === 'ended') {
      if (!tokens || tokens.login === login) void end(message.kind as 'logout' | 'revoked', message.reason as string, message.at as number | null, false, login);
    }
  }

  // --- push -------------------------------------------------------------------------------------

  /** One socket per browser: the tab holding the `events` lock opens it; when that tab goes, the next one takes over. */
  function startPush(): void {
    if (stopPush) return;
    const url = new URL(`${base}/v1/events`, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const aborter = new AbortController();
    let closeSocket: (() => void) | undefined;
    const lead = () =>
      new Promise<void>((release) => {
        if (aborter.signal.aborted) return release();
        closeSocket = openEventsSocket({
          url: url.href,
          token: () => getAccessToken(),
          onRevoked: (notice) => void end('revoked', notice.reason, notice.at ?? null, true),
        });
        aborter.signal.addEventListener('abort', () => release());
      });
    stopPush = () => {
      aborter.abort();
      closeSocket?.();
    };
    const locks = globalThis.navigator?.locks;
    if (locks) locks.request(`${ns}:events`, { signal: aborter.signal }, lead).catch(() => undefined);
    else void lead();
  }

  // --- public -----------------------------------------------------------------------------------

  async function getAccessToken(): Promise<string | null> {
    await ready;
    const current = tokens;
    if (!current) return null;
    if (!due(current)) return current.accessToken;
    try {
      return (await refresh())?.accessToken ?? null;
    } catch (error) {
      // Offline: a token that is due but not yet expired still works.
      if (current === tokens && current.expiresAt > serverNow()) return current.accessToken;
      throw error;
    }
  }

  /**
   * Whether a 401 is about the access token (so a refresh may help), per RFC 6750 §3: a Bearer
   * challenge names `error="invalid_token"` when the token was the problem. A Bearer challenge without
   * it (a wrong password on revoke-others, say) is not, and is answered as is. A 401 with no Bearer
   * challenge at all comes from a server that does not say: one refresh is worth trying.
   */
  function tokenRejected(response: Response): boolean {
    const challenge = response.headers.get('WWW-Authenticate');
    if (!challenge || !/^\s*bearer\b/i.test(challenge)) return true;
    return /\berror\s*=\s*"?invalid_token"?/i.test(challenge);
  }

  async function authorizedFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
    const attempt = (token: string | null) => {
      const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
      if (token) headers.set('Authorization', `Bearer ${token}`);
      return send(input instanceof Request ? input.clone() : input, { ...init, headers });
    };
    const token = await getAccessToken();
    const response = await attempt(token);
    if (response.status !== 401 || !token || !tokenRejected(response)) return response;
    // One refresh and one retry, never more: a second 401 is the answer.
    const fresh = await refresh(token).catch(() => undefined);
    return fresh ? attempt(fresh.accessToken) : response;
  }

  async function logout(): Promise<void> {
    await ready;
    const current = tokens;
    const refreshToken = transport === 'header' ? await storage.getItem<string>(REFRESH_ITEM).catch(() => null) : null;
    // Local first, under the lock (a refresh in flight finishes before the record is deleted):
    // the user asked to be signed out, and is, even if the service cannot be reached.
    await withTabLock(`${ns}:refresh`, () => end('logout', 'logout', null, true, current?.login));
    if (current) await call('POST', '/v1/auth/logout', refreshToken ? { refreshToken } : {}, current.accessToken).catch(() => undefined);
  }

  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { 'X-Tessera-CSRF': '1' };
    if (body) headers['Content-Type'] = 'application/json';
    return parse<T>(await authorizedFetch(base + path, { method, headers, body: body ? JSON.stringify(body) : null, credentials: 'include', cache: 'no-store' }));
  }

  const ready = check()
    .catch(() => undefined)
    .then(() => {
      if (state.status === 'loading') setState({ ...state, status: 'signed-out' });
    });

  const onVisible = () => {
    if (document.visibilityState === 'visible') void check().catch(() => undefined);
  };
  const onOnline = () => void check().catch(() => undefined);
  globalThis.document?.addEventListener('visibilitychange', onVisible);
  globalThis.addEventListener?.('online', onOnline);

  return {
    get state() {
      return state;
    },
    ready,
    storage,
    async login(username, password, device) {
      await ready;
      // One session per client: the previous one ends (on the service too) and its data is destroyed.
      if (tokens) await logout();
      // Under the refresh lock, so that a refresh of a previous session cannot land after it.
      await withTabLock(`${ns}:refresh`, () => obtain('/v1/auth/login', { username, password, transport, ...(device ? { device } : {}) }, randomId(), 1));
      return state;
    },
    logout,
    getAccessToken,
    fetch: authorizedFetch,
    sessions: {
      list: async () => (await api<{ sessions: SessionView[] }>('GET', '/v1/sessions')).sessions,
      async revoke(id) {
        await api('DELETE', `/v1/sessions/${encodeURIComponent(id)}`);
        // Revoking this device's own session is logging out (the service records it so).
        if (id === tokens?.session.id) await end('logout', 'logout', null, true);
      },
      revokeOthers: async (password) => (await api<{ revoked: number }>('POST', '/v1/sessions/revoke-others', { password })).revoked,
    },
    on(event, handler) {
      const set = (handlers[event] ??= new Set() as never) as Set<typeof handler>;
      set.add(handler);
      return () => set.delete(handler);
    },
    close() {
      clearTimeout(timer);
      stopPush?.();
      channel.close();
      globalThis.document?.removeEventListener('visibilitychange', onVisible);
      globalThis.removeEventListener?.('online', onOnline);
    },
  };
}

/** The `sub` claim, read without verification: the token came from the service over TLS, and the browser trusts nothing else in it. */
export function subjectOf(jwt: string): string | null {
  try {
    const json = atob(jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'));
    const payload = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as { sub?: unknown };
    return typeof payload.sub === 'string' ? payload.sub : null;
  } catch {
    return null;
  }
}
