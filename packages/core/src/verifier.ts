/**
 * The hot path: verifies an access token with the local key set, then checks its session against the
 * in-memory revocation set. No store round trip while the revocation feed is healthy.
 *
 * Follows RFC 8725 (JWT BCP): an algorithm allow-list of exactly `EdDSA` (§3.1, so `none` and HMAC
 * with a public key are refused before any cryptography), explicit typing `at+jwt` (§3.11, RFC 9068),
 * issuer and audience checked (§3.8, §3.9), strict syntax before parsing (see syntax.ts).
 */
import { errors, jwtVerify, type JWTPayload, type JWTHeaderParameters } from 'jose';
import type { KeyObject } from 'node:crypto';
import { systemClock, type Clock } from './clock.js';
import { TesseraError, storeUnavailable } from './errors.js';
import type { FeedListener, RevocationFeed } from './feed.js';
import type { FeedFallback } from './policy.js';
import type { RevocationEntry } from './session.js';
import { MAX_ACCESS_TOKEN_LENGTH, isCompactJws } from './syntax.js';

export interface VerifiedAccess {
  userId: string;
  sessionId: string;
  tokenId: string;
  /** ms since the epoch. */
  expiresAt: number;
  /** Every claim of the token, registered and application ones. */
  claims: JWTPayload;
}

/** Where the verifier finds public keys by `kid`. */
export interface KeySource {
  key(kid: string): KeyObject | undefined;
  /** Reloads the key set (called, at most every few seconds, when a token names an unknown kid). */
  reload?(): Promise<void>;
}

export interface VerifierOptions {
  issuer: string;
  audience: string | string[];
  keys: KeySource;
  /** Clock skew tolerated on `exp`, `nbf`, `iat`, in ms. */
  leeway: number;
  feed: RevocationFeed;
  /** Recent revocations, for back-filling on (re)connect. */
  revocationsSince: (since: number, limit: number) => Promise<RevocationEntry[]>;
  /** How long a revocation matters: access-token lifetime + leeway (+ margin). */
  retention: number;
  /** After this long without a word from the feed, the fallback applies. */
  staleAfter: number;
  fallback: FeedFallback;
  /** For the `check-store` fallback: is this session live right now? Without it, stale means reject. */
  checkSession?: (sid: string) => Promise<boolean>;
  /** Verified tokens remembered until their expiry. Default 10,000. */
  cacheSize?: number;
  maxTokenLength?: number;
  clock?: Clock;
  /** Monotonic time in ms, for feed staleness (independent of the injected wall clock). */
  monotonic?: () => number;
}

const REQUIRED = ['sub', 'sid', 'jti', 'iat', 'exp'];
/**
 * Verified tokens are found by the last characters of their signature (144 bits): hashing a whole
 * token, a fresh string on every request, cost more than the rest of a cached verification. An
 * entry only counts for the very same token (compared in full), so a token forged to end like a
 * cached one is verified like any other.
 */
const CACHE_KEY_LENGTH = 24;
const KEY_RELOAD_INTERVAL = 5_000;
const BACKFILL_PAGE = 5_000;

export class Verifier {
  readonly #o: Required<Omit<VerifierOptions, 'checkSession'>> & Pick<VerifierOptions, 'checkSession'>;
  readonly #cache = new Map<string, { token: string; verified: VerifiedAccess }>();
  /** Signature checks in flight, by token: concurrent first sightings of a token share one. */
  readonly #pending = new Map<string, Promise<VerifiedAccess>>();
  /** sid → until when the revocation matters (wall clock ms). */
  readonly #revoked = new Map<string, number>();
  #lastHeard = -Infinity;
  #synced = false;
  #syncGeneration = 0;
  #lastKeyReload = -Infinity;
  #unsubscribe: (() => void) | undefined;
  #ready: Promise<void>;
  #resolveReady!: () => void;
  #closed = false;
  #lastPrune = 0;

  constructor(options: VerifierOptions) {
    this.#o = {
      cacheSize: 10_000,
      maxTokenLength: MAX_ACCESS_TOKEN_LENGTH,
      clock: systemClock,
      monotonic: () => performance.now(),
      ...options,
    };
    this.#ready = new Promise((resolve) => (this.#resolveReady = resolve));
    const listener: FeedListener = {
      revoked: (entry) => {
        this.markRevoked([entry]);
        this.#lastHeard = this.#o.monotonic();
      },
      heartbeat: () => {
        this.#lastHeard = this.#o.monotonic();
        this.#prune();
      },
      connected: () => void this.#backfill(),
    };
    this.#unsubscribe = this.#o.feed.subscribe(listener);
  }

  /** Resolves once the revocation set has been back-filled for the first time. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Whether the feed has been heard from recently enough to be trusted on its own. */
  get feedHealthy(): boolean {
    return this.#synced && this.#o.monotonic() - this.#lastHeard <= this.#o.staleAfter;
  }

  /** Milliseconds since the feed was last heard from (Infinity before the first word). */
  get feedSilence(): number {
    return this.#o.monotonic() - this.#lastHeard;
  }

  /** Adds revocations to the set: the engine calls it for its own, so its node rejects on the next request. */
  markRevoked(entries: Iterable<Pick<RevocationEntry, 'sid' | 'at'>>): void {
    for (const entry of entries) {
      const until = entry.at + this.#o.retention;
      if ((this.#revoked.get(entry.sid) ?? 0) < until) this.#revoked.set(entry.sid, until);
    }
  }

  isRevoked(sid: string): boolean {
    return this.#revoked.has(sid);
  }

  async verify(token: unknown): Promise<VerifiedAccess> {
    const now = this.#o.clock.now();
    // A cached token passed every check below when it was first seen, syntax included: the hot path
    // is a map lookup and the revocation set, with no await unless the feed is stale.
    const cached = typeof token === 'string' ? this.#cache.get(token.slice(-CACHE_KEY_LENGTH)) : undefined;
    let verified = cached !== undefined && cached.token === token ? cached.verified : undefined;
    if (verified) {
      if (now >= verified.expiresAt + this.#o.leeway) {
        this.#cache.delete((token as string).slice(-CACHE_KEY_LENGTH));
        throw new TesseraError('token_expired', 'the access token has expired');
      }
    } else {
      if (!isCompactJws(token, this.#o.maxTokenLength)) throw new TesseraError('invalid_token', 'the access token is malformed');
      verified = await this.#verifyOnce(token, now);
    }
    if (this.#revoked.has(verified.sessionId)) throw new TesseraError('session_revoked', 'the session has been revoked');
    if (!this.feedHealthy) await this.#checkStore(verified.sessionId);
    return verified;
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#cache.clear();
    this.#resolveReady();
  }

  /** The feed is silent: we cannot know about recent revocations, so never accept on trust alone. */
  async #checkStore(sid: string): Promise<void> {
    if (this.#o.fallback === 'reject' || !this.#o.checkSession) {
      throw new TesseraError('store_unavailable', 'the revocation feed is stale; tokens cannot be checked');
    }
    let live: boolean;
    try {
      live = await this.#o.checkSession(sid);
    } catch (error) {
      throw storeUnavailable(error);
    }
    if (!live) throw new TesseraError('session_revoked', 'the session is no longer active');
  }

  /**
   * The signature and claims check of a token not in the cache, shared by every call that presents
   * it while the check is in flight: a page that fires ten requests with a fresh token costs one
   * Ed25519 verification, not ten.
   */
  #verifyOnce(token: string, now: number): Promise<VerifiedAccess> {
    let pending = this.#pending.get(token);
    if (!pending) {
      pending = this.#verifySignature(token, now)
        .then((verified) => {
          if (this.#cache.size >= this.#o.cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
          this.#cache.set(token.slice(-CACHE_KEY_LENGTH), { token, verified });
          return verified;
        })
        .finally(() => this.#pending.delete(token));
      this.#pending.set(token, pending);
    }
    return pending;
  }

  async #verifySignature(token: string, now: number): Promise<VerifiedAccess> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header) => this.#keyFor(header), {
        algorithms: ['EdDSA'],
        typ: 'at+jwt',
        issuer: this.#o.issuer,
        audience: this.#o.audience,
        clockTolerance: this.#o.leeway / 1000,
        currentDate: new Date(now),
        requiredClaims: REQUIRED,
      }));
    } catch (error) {
      if (error instanceof TesseraError) throw error;
      if (error instanceof errors.JWTExpired) throw new TesseraError('token_expired', 'the access token has expired');
      const reason = error instanceof errors.JOSEError ? error.code : 'ERR_UNKNOWN';
      throw new TesseraError('invalid_token', `the access token is invalid (${reason})`);
    }
    const { sub, sid, jti, iat, exp } = payload;
    if (typeof sub !== 'string' || !sub || typeof sid !== 'string' || !sid || typeof jti !== 'string' || !jti) {
      throw new TesseraError('invalid_token', 'the access token lacks sub, sid or jti');
    }
    // jose does not reject an `iat` in the future; a token issued later than now (beyond leeway) is forged or skewed.
    if (typeof iat !== 'number' || typeof exp !== 'number' || iat * 1000 > now + this.#o.leeway || iat > exp) {
      throw new TesseraError('invalid_token', 'the access token has an impossible iat');
    }
    return { userId: sub, sessionId: sid, tokenId: jti, expiresAt: exp * 1000, claims: payload };
  }

  async #keyFor(header: JWTHeaderParameters): Promise<KeyObject> {
    if (typeof header.kid !== 'string' || !header.kid) throw new TesseraError('invalid_token', 'the access token has no kid');
    let key = this.#o.keys.key(header.kid);
    if (!key && this.#o.keys.reload && this.#o.monotonic() - this.#lastKeyReload > KEY_RELOAD_INTERVAL) {
      this.#lastKeyReload = this.#o.monotonic();
      await this.#o.keys.reload();
      key = this.#o.keys.key(header.kid);
    }
    if (!key) throw new TesseraError('invalid_token', 'the access token names an unknown key');
    return key;
  }

  async #backfill(): Promise<void> {
    const generation = ++this.#syncGeneration;
    this.#synced = false;
    try {
      // Paged, oldest first: every retained revocation matters, and the newest most of all.
      let since = this.#o.clock.now() - this.#o.retention;
      let limit = BACKFILL_PAGE;
      for (;;) {
        const page = await this.#o.revocationsSince(since, limit);
        if (this.#closed || generation !== this.#syncGeneration) return;
        this.markRevoked(page);
        if (page.length < limit) break;
        const last = page[page.length - 1]!.at;
        // Entries sharing the boundary instant come again on the next page (harmless). A full page
        // of one instant would never advance: ask for a bigger page instead of skipping any.
        if (last > since) since = last;
        else limit *= 2;
      }
      this.#synced = true;
      this.#lastHeard = this.#o.monotonic();
      this.#resolveReady();
    } catch {
      if (this.#closed || generation !== this.#syncGeneration) return;
      // Stay unsynced (the fallback applies) and try again shortly.
      setTimeout(() => void (generation === this.#syncGeneration && this.#backfill()), 1000).unref();
    }
  }

  #prune(): void {
    const now = this.#o.clock.now();
    if (now - this.#lastPrune < 10_000) return;
    this.#lastPrune = now;
    for (const [sid, until] of this.#revoked) if (now >= until) this.#revoked.delete(sid);
    for (const [key, { verified }] of this.#cache) if (now >= verified.expiresAt + this.#o.leeway) this.#cache.delete(key);
  }
}
