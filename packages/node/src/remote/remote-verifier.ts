/**
 * `createRemoteVerifier`: verifies access tokens in a process that has no access to the store, against
 * a running `tessera serve`. It is core's `Verifier` with two remote parts plugged in, so it keeps every
 * guarantee of the in-process one (RFC 8725 checks, the revocation set, the staleness bound):
 *
 * - keys: the service's JWKS (`/.well-known/jwks.json`), fetched again on an unknown kid (rate-limited)
 *   and every few minutes (jwks-keys.ts);
 * - revocations: `/v1/admin/revocations/stream` (server-sent events with heartbeats), back-filled from
 *   `/v1/admin/revocations?after=` whenever it (re)connects, reconnecting with backoff
 *   (revocation-stream.ts).
 *
 * A verified token costs no request while the stream is healthy. When the stream has been silent for
 * longer than `staleAfter`, revocations may have been missed, and the design's fallback applies. The
 * in-process `check-store` cannot exist here (the store is out of reach), so the remote equivalent is
 * `introspect` (default): each request is checked with `POST /v1/admin/introspect`, where the service
 * asks its store whether the session is live, which fails closed (503 `store_unavailable`) when the
 * service cannot be reached either. `reject` refuses every token (503) until the stream is back.
 * Either way a token that may have been revoked is never accepted on trust.
 */
import { TesseraError, Verifier, isTesseraError, systemClock, type Clock, type VerifiedAccess } from '@tessera/core';
import type { AccessVerifier } from '../access.js';
import { JwksKeys } from './jwks-keys.js';
import { RevocationStream, checkEntry } from './revocation-stream.js';

export type RemoteFallback = 'introspect' | 'reject';

export interface RemoteVerifierOptions {
  /** Base URL of the service, e.g. `https://auth.internal:8080`. */
  url: string;
  /** The service's admin key (the revocation feed and introspection are admin endpoints). */
  adminKey: string;
  /** What the service signs: `iss` and `aud` of its access tokens. */
  issuer: string;
  audience: string | string[];
  /** Clock skew tolerated on `exp`, `nbf`, `iat`, in ms. Default 30 s (the service's default). */
  leeway?: number;
  /** After this long without a word from the stream, the fallback applies, in ms. Default 5 s. */
  staleAfter?: number;
  /** Default `introspect`; see above. */
  fallback?: RemoteFallback;
  /**
   * How long a revocation is remembered, in ms: at least the service's access-token lifetime plus
   * leeway. Default 24 h, which covers any sane lifetime (the set holds a session id per revocation).
   */
  retention?: number;
  /** The service's heartbeat interval of the stream, in ms. Default 2 s (the service's default). */
  heartbeatInterval?: number;
  /** A stream silent this long is reopened, in ms. Default `max(3 × heartbeatInterval, staleAfter)`. */
  silenceTimeout?: number;
  /** Timeout of each request to the service, in ms. Default 5 s. */
  requestTimeout?: number;
  /** How long `createRemoteVerifier` waits for the keys and the first back-fill. Default 10 s. */
  readyTimeout?: number;
  /** How often the key set is fetched again, in ms. Default 5 min. */
  keyRefreshInterval?: number;
  /** Verified tokens remembered until their expiry. Default 10,000. */
  cacheSize?: number;
  /** Called with the errors of the background work (stream, key refresh), for logging. */
  onError?: (error: unknown) => void;
  /** The `fetch` to use (a custom dispatcher, proxy, mTLS). Default the global one. */
  fetch?: typeof fetch;
  clock?: Clock;
  /** Monotonic ms, for staleness. Default `performance.now`. */
  monotonic?: () => number;
}

export interface RemoteVerifier extends AccessVerifier {
  verify(token: unknown): Promise<VerifiedAccess>;
  /** Whether the revocation stream has been heard from within `staleAfter`. */
  readonly feedHealthy: boolean;
  /** Milliseconds since the stream was last heard from. */
  readonly feedSilence: number;
  /** Stops the stream and the timers. Idempotent. */
  close(): void;
}

/** Connects to the service; resolves once the keys are loaded and the revocation set back-filled. */
export async function createRemoteVerifier(options: RemoteVerifierOptions): Promise<RemoteVerifier> {
  const base = checkUrl(options.url);
  if (typeof options.adminKey !== 'string' || options.adminKey.length === 0) throw new TesseraError('invalid_config', 'adminKey is required');
  if (typeof options.issuer !== 'string' || !options.issuer) throw new TesseraError('invalid_config', 'issuer is required (the service\'s TESSERA_ISSUER)');
  const audiences = Array.isArray(options.audience) ? options.audience : [options.audience];
  if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || !a)) throw new TesseraError('invalid_config', 'audience is required');
  const fetchImpl = options.fetch ?? fetch;
  const monotonic = options.monotonic ?? (() => performance.now());
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? (() => undefined);
  const requestTimeout = options.requestTimeout ?? 5000;
  const leeway = options.leeway ?? 30_000;
  const staleAfter = options.staleAfter ?? 5000;
  const heartbeatInterval = options.heartbeatInterval ?? 2000;
  const fallback = options.fallback ?? 'introspect';
  if (fallback !== 'introspect' && fallback !== 'reject') throw new TesseraError('invalid_config', `fallback must be 'introspect' or 'reject', got ${JSON.stringify(fallback)}`);
  const admin = { authorization: `Bearer ${options.adminKey}` };

  const keys = new JwksKeys({
    url: `${base}/.well-known/jwks.json`,
    fetch: fetchImpl,
    timeout: requestTimeout,
    refreshInterval: options.keyRefreshInterval ?? 300_000,
    onError,
  });
  const stream = new RevocationStream({
    url: `${base}/v1/admin/revocations/stream`,
    adminKey: options.adminKey,
    fetch: fetchImpl,
    heartbeatInterval,
    silenceTimeout: options.silenceTimeout ?? Math.max(3 * heartbeatInterval, staleAfter),
    connectTimeout: requestTimeout,
    minBackoff: 250,
    maxBackoff: 30_000,
    onError,
  });

  async function adminJson(path: string, init: RequestInit = {}): Promise<unknown> {
    let response: Response;
    try {
      response = await fetchImpl(`${base}${path}`, {
        ...init,
        headers: { ...admin, accept: 'application/json', ...(init.body ? { 'content-type': 'application/json' } : {}) },
        signal: AbortSignal.timeout(requestTimeout),
      });
    } catch (error) {
      throw new TesseraError('store_unavailable', `the Tessera service at ${base} could not be reached`, { cause: error });
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new TesseraError('store_unavailable', `the Tessera service answered HTTP ${response.status} on ${path}`);
    }
    return response.json();
  }

  const verifier = new Verifier({
    issuer: options.issuer,
    audience: options.audience,
    keys,
    leeway,
    feed: stream,
    // One page, oldest first (the verifier asks for the next from the last `at` it got). The service
    // answers up to 10,000 entries per request; a page is cut to the `limit` asked for.
    revocationsSince: async (since, limit) => {
      const body = (await adminJson(`/v1/admin/revocations?after=${Math.max(0, Math.floor(since))}`)) as { revocations?: unknown };
      if (!Array.isArray(body.revocations)) throw new TesseraError('store_unavailable', 'the revocations answer has no "revocations" array');
      return body.revocations
        .map(checkEntry)
        .filter((entry) => entry !== null)
        .slice(0, limit);
    },
    retention: options.retention ?? 86_400_000,
    staleAfter,
    // The stale-feed fallback is decided below (introspection); the core verifier only signals it.
    fallback: 'reject',
    cacheSize: options.cacheSize ?? 10_000,
    clock,
    monotonic,
  });

  async function introspect(token: string): Promise<VerifiedAccess> {
    const body = (await adminJson('/v1/admin/introspect', { method: 'POST', body: JSON.stringify({ token }) })) as Record<string, unknown>;
    if (body.active !== true) throw new TesseraError('session_revoked', 'the session is no longer active');
    const { active: _active, token_type: _type, ...claims } = body;
    const { sub, sid, jti, exp } = claims;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string' || typeof exp !== 'number') {
      throw new TesseraError('store_unavailable', 'the introspection answer lacks sub, sid, jti or exp');
    }
    return { userId: sub, sessionId: sid, tokenId: jti, expiresAt: exp * 1000, claims };
  }

  let closed = false;
  const remote: RemoteVerifier = {
    verify(token) {
      // The core verifier's promise as it is (no extra async step on the hot path), unless the
      // fallback may have to step in: it refuses with store_unavailable when its feed is stale (or
      // the JWKS is out of reach), and that is where introspection applies. Everything else is its
      // final answer.
      const verified = verifier.verify(token);
      if (fallback !== 'introspect') return verified;
      return verified.catch((error: unknown) => {
        if (isTesseraError(error, 'store_unavailable') && !verifier.feedHealthy && typeof token === 'string') return introspect(token);
        throw error;
      });
    },
    get feedHealthy() {
      return verifier.feedHealthy;
    },
    get feedSilence() {
      return verifier.feedSilence;
    },
    close() {
      if (closed) return;
      closed = true;
      verifier.close();
      stream.close();
      keys.close();
    },
  };

  try {
    await withDeadline(
      Promise.all([keys.reload(), verifier.ready()]).then(() => undefined),
      options.readyTimeout ?? 10_000,
      `the Tessera service at ${base} did not answer (keys and revocations) in time`,
    );
    if (keys.size === 0) throw new TesseraError('store_unavailable', `the JWKS at ${base} has no Ed25519 key`);
  } catch (error) {
    remote.close();
    throw isTesseraError(error) ? error : new TesseraError('store_unavailable', error instanceof Error ? error.message : String(error), { cause: error });
  }
  return remote;
}

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TesseraError('invalid_config', `url must be the service's base URL, e.g. https://auth.internal:8080, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TesseraError('invalid_config', 'url must be http: or https:');
  return parsed.href.replace(/\/+$/, '');
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TesseraError('store_unavailable', message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
