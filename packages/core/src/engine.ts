/**
 * The engine: sessions, rotation, revocation and verification over one `SessionStore`. Every
 * operation is one atomic store call (its decision made by the store, as decisions.ts says), then
 * local bookkeeping: the verifier learns of its own node's revocations at once, events are recorded.
 */
import { RESERVED_CLAIMS, signAccessToken } from './access-token.js';
import { systemClock, type Clock } from './clock.js';
import { TesseraError, storeUnavailable } from './errors.js';
import { EventRecorder } from './event-recorder.js';
import { contextFields, type RequestContext, type SessionEvent, type SessionEventType } from './events.js';
import { hashSecret, newSecret, newSessionId } from './ids.js';
import { KeyRing } from './keys.js';
import { resolvePolicy, revocationRetention, type Policy, type PolicyInput } from './policy.js';
import { formatRefreshToken, parseRefreshToken } from './refresh-token.js';
import { DEVICE_KINDS, isLive, revocationOf, type Device, type RevokeReason, type SessionRecord } from './session.js';
import type { SessionStore } from './store.js';
import { openSuccessor, sealSuccessor } from './successor.js';
import { Verifier, type VerifiedAccess } from './verifier.js';

export interface EngineOptions {
  store: SessionStore;
  /** `iss` of every access token, e.g. `https://auth.example.com`. */
  issuer: string;
  /** `aud` of every access token, and what verifiers require. */
  audience: string | string[];
  policy?: PolicyInput;
  clock?: Clock;
  /** How long a signing key signs before it is replaced. Default 30 days. */
  keyRotationInterval?: number;
  /** How long a new key is published before it signs. Default 10 minutes. */
  keyPublishLead?: number;
  /** How often the engine re-reads the shared key set (and rotates when due). Default 60 s. */
  keySyncInterval?: number;
  /** Verified tokens cached until their expiry. Default 10,000. */
  verifierCacheSize?: number;
  /** Monotonic ms, for feed staleness. Default `performance.now`. */
  monotonic?: () => number;
  /** How long `create` waits for the revocation feed's first back-fill. Default 10 s. */
  readyTimeout?: number;
}

export interface NewSession {
  userId: string;
  device?: Partial<Device>;
  ip?: string | null;
  userAgent?: string | null;
  /** Application claims copied into every access token of the session (JSON object, ≤ 4 KB). */
  claims?: Record<string, unknown> | null;
}

/** What a login or a refresh hands the client. Times in ms since the epoch; `expiresIn` in seconds. */
export interface IssuedTokens {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  accessTokenExpiresAt: number;
  refreshToken: string;
  refreshTokenExpiresAt: number;
  session: SessionRecord;
  serverTime: number;
}

const MAX_USER_ID = 256;
const MAX_DEVICE_NAME = 100;
const MAX_USER_AGENT = 512;
const MAX_IP = 64;
const MAX_CLAIMS_BYTES = 4096;

export class Engine {
  readonly store: SessionStore;
  readonly policy: Policy;
  readonly issuer: string;
  readonly audience: string | string[];
  readonly clock: Clock;
  readonly verifier: Verifier;
  readonly keys: KeyRing;
  readonly #events: EventRecorder;
  readonly #retention: number;
  readonly #keySyncTimer: NodeJS.Timeout;
  /** sids whose failed refreshes passed the limit here, until when (local pre-check, no round trip). */
  readonly #throttled = new Map<string, number>();
  #closed = false;

  private constructor(options: EngineOptions, policy: Policy) {
    this.store = options.store;
    this.policy = policy;
    this.issuer = options.issuer;
    this.audience = options.audience;
    this.clock = options.clock ?? systemClock;
    this.#retention = revocationRetention(policy);
    this.keys = new KeyRing(this.store, {
      rotationInterval: options.keyRotationInterval ?? 30 * 86_400_000,
      publishLead: options.keyPublishLead ?? 10 * 60_000,
      verifyWindow: policy.accessTtl + policy.leeway,
    });
    this.#events = new EventRecorder(this.store);
    this.verifier = new Verifier({
      issuer: this.issuer,
      audience: this.audience,
      keys: { key: (kid) => this.keys.publicKey(kid, this.clock.now()), reload: () => this.syncKeys() },
      leeway: policy.leeway,
      feed: this.store.feed,
      revocationsSince: (since, limit) => this.store.revocationsSince(since, limit),
      retention: this.#retention,
      staleAfter: policy.feedStaleAfter,
      fallback: policy.feedFallback,
      checkSession: async (sid) => {
        const session = await this.store.getSession(sid);
        return session !== null && isLive(session, this.clock.now());
      },
      cacheSize: options.verifierCacheSize ?? 10_000,
      clock: this.clock,
      ...(options.monotonic ? { monotonic: options.monotonic } : {}),
    });
    const interval = options.keySyncInterval ?? 60_000;
    this.#keySyncTimer = setInterval(() => void this.syncKeys().catch(() => undefined), interval);
    this.#keySyncTimer.unref();
  }

  /** Builds an engine: validates the policy, loads (or creates) the signing keys, back-fills revocations. */
  static async create(options: EngineOptions): Promise<Engine> {
    const policy = resolvePolicy(options.policy);
    if (typeof options.issuer !== 'string' || !options.issuer) throw new TesseraError('invalid_config', 'issuer is required');
    const audiences = Array.isArray(options.audience) ? options.audience : [options.audience];
    if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || !a)) {
      throw new TesseraError('invalid_config', 'audience is required');
    }
    const engine = new Engine(options, policy);
    try {
      await engine.syncKeys();
      await withDeadline(engine.verifier.ready(), options.readyTimeout ?? 10_000, 'the revocation feed did not connect');
    } catch (error) {
      await engine.close({ closeStore: false });
      throw storeUnavailable(error);
    }
    return engine;
  }

  /** Creates a session (a login): enforces the device limit atomically, returns its first tokens. */
  async createSession(input: NewSession, ctx?: RequestContext): Promise<IssuedTokens> {
    this.#open();
    const userId = checkUserId(input.userId);
    const device = checkDevice(input.device);
    const claims = checkClaims(input.claims);
    const now = this.clock.now();
    const secret = newSecret();
    const session: SessionRecord = {
      sid: newSessionId(userId),
      userId,
      device,
      ip: clip(input.ip ?? ctx?.ip ?? null, MAX_IP),
      userAgent: clip(input.userAgent ?? ctx?.userAgent ?? null, MAX_USER_AGENT),
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: now + Math.min(this.policy.idleTimeout, this.policy.absoluteTimeout),
      absoluteExpiresAt: now + this.policy.absoluteTimeout,
      refresh: { hash: hashSecret(secret), previousHash: null, olderHashes: [], rotatedAt: now, generation: 0, successor: null },
      revokedAt: null,
      revokeReason: null,
      claims,
    };
    const result = await this.#call(() =>
      this.store.createSession({
        session,
        maxSessions: this.policy.maxSessionsPerUser,
        onLimit: this.policy.onLimit,
        now,
        retention: this.#retention,
      }),
    );
    this.verifier.markRevoked(result.evicted.map(revocationOf));
    this.#record([
      ...result.evicted.map((s) => this.#event('session.evicted', s, ctx, now, 'evicted')),
      this.#event('session.created', result.session, ctx, now),
    ]);
    return this.#issue(result.session, secret, now);
  }

  /**
   * Rotates a refresh token. The previous token within the grace window returns the same successor;
   * an older or late one revokes the session (`reuse_detected`). Throws `invalid_refresh_token`,
   * `session_revoked`, `session_expired`, `rate_limited` or `store_unavailable`.
   */
  async refresh(refreshToken: unknown, ctx?: RequestContext): Promise<IssuedTokens> {
    this.#open();
    const parsed = parseRefreshToken(refreshToken);
    if (!parsed) throw new TesseraError('invalid_refresh_token', 'the refresh token is malformed');
    const now = this.clock.now();
    const throttledUntil = this.#throttled.get(parsed.sid);
    if (throttledUntil !== undefined) {
      if (now < throttledUntil) throw rateLimited(throttledUntil - now);
      this.#throttled.delete(parsed.sid);
    }
    const secret = newSecret();
    const signing = this.keys.signingKey(now);
    const result = await this.#call(() =>
      this.store.rotateRefresh({
        sid: parsed.sid,
        presentedHash: parsed.secretHash,
        now,
        next: { hash: hashSecret(secret), successor: sealSuccessor(secret, parsed.sid, signing.kid, signing.privateKey) },
        idleTimeout: this.policy.idleTimeout,
        refreshGrace: this.policy.refreshGrace,
        refreshHistory: this.policy.refreshHistory,
        retention: this.#retention,
      }),
    );
    switch (result.outcome) {
      case 'rotated':
        this.#record([this.#event('session.refreshed', result.session, ctx, now)]);
        return this.#issue(result.session, secret, now);
      case 'grace': {
        let successor = openSuccessor(result.successor, parsed.sid, (kid) => this.keys.privateKey(kid));
        if (successor === null) {
          // Sealed by another node under a key this one has not loaded yet: read the key set once.
          await this.syncKeys();
          successor = openSuccessor(result.successor, parsed.sid, (kid) => this.keys.privateKey(kid));
        }
        if (successor === null) throw new TesseraError('invalid_refresh_token', 'the refresh token has been superseded');
        return this.#issue(result.session, successor, now);
      }
      case 'reuse':
        this.verifier.markRevoked([revocationOf(result.session)]);
        this.#record([this.#event('session.reuse_detected', result.session, ctx, now, 'reuse_detected')]);
        throw new TesseraError('session_revoked', 'a superseded refresh token was reused; the session has been revoked');
      case 'revoked':
        throw new TesseraError('session_revoked', 'the session has been revoked');
      case 'expired':
        throw new TesseraError('session_expired', 'the session has expired');
      case 'invalid':
        await this.#countFailedRefresh(parsed.sid, now);
        throw new TesseraError('invalid_refresh_token', 'the refresh token is not valid');
    }
  }

  /** Revokes one session; `true` if this call revoked it, `false` if it was already revoked or unknown. */
  async revoke(sid: string, reason: RevokeReason = 'logout', ctx?: RequestContext): Promise<boolean> {
    this.#open();
    if (typeof sid !== 'string' || sid.length > 64) return false;
    const now = this.clock.now();
    const result = await this.#call(() => this.store.revokeSession({ sid, reason, now, retention: this.#retention }));
    if (!result?.changed) return false;
    this.verifier.markRevoked([revocationOf(result.session)]);
    this.#record([this.#event(eventTypeOf(reason), result.session, ctx, now, reason)]);
    return true;
  }

  /** Revokes every live session of a user, except `exceptSid` if given; returns how many. */
  async revokeUser(
    userId: string,
    options: { exceptSid?: string | null; reason?: RevokeReason } = {},
    ctx?: RequestContext,
  ): Promise<number> {
    this.#open();
    const id = checkUserId(userId);
    const reason = options.reason ?? 'revoked';
    const now = this.clock.now();
    const revoked = await this.#call(() =>
      this.store.revokeUserSessions({ userId: id, exceptSid: options.exceptSid ?? null, reason, now, retention: this.#retention }),
    );
    this.verifier.markRevoked(revoked.map(revocationOf));
    this.#record(revoked.map((s) => this.#event(eventTypeOf(reason), s, ctx, now, reason)));
    return revoked.length;
  }

  /** The user's live sessions, most recently seen first. */
  async listSessions(userId: string): Promise<SessionRecord[]> {
    this.#open();
    const id = checkUserId(userId);
    return this.#call(() => this.store.listSessions(id, this.clock.now()));
  }

  /** A session record (live or not, while retained), or `null`. */
  async getSession(sid: string): Promise<SessionRecord | null> {
    this.#open();
    if (typeof sid !== 'string' || sid.length > 64) return null;
    return this.#call(() => this.store.getSession(sid));
  }

  /** Verifies an access token: signature, claims, and revocation, with no store round trip. */
  verify(accessToken: unknown): Promise<VerifiedAccess> {
    return this.verifier.verify(accessToken);
  }

  jwks() {
    return this.keys.jwks(this.clock.now());
  }

  /** Re-reads the shared key set; creates the first key, rotates when due, drops expired keys. */
  async syncKeys(): Promise<void> {
    await this.#call(() => this.keys.sync(this.clock.now()));
  }

  /** Publishes a new signing key (it signs after the publish lead, or at once with `immediately`). */
  async rotateKeys(options: { immediately?: boolean } = {}): Promise<string> {
    const key = await this.#call(() => this.keys.rotate(this.clock.now(), options.immediately));
    return key.kid;
  }

  /** Records an event that is not a session state change (e.g. `login.failed`, from the service). */
  recordEvent(event: Omit<SessionEvent, 'at'> & { at?: number }): void {
    this.#record([{ ...event, at: event.at ?? this.clock.now() }]);
  }

  /** Subscribes to this engine's events (in process); returns the unsubscribe function. */
  onEvent(fn: (event: SessionEvent) => void): () => void {
    return this.#events.subscribe(fn);
  }

  /** Waits until every event recorded so far has been appended to the store's log. */
  flushEvents(): Promise<void> {
    return this.#events.flush();
  }

  async close(options: { closeStore?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keySyncTimer);
    this.verifier.close();
    await this.#events.flush().catch(() => undefined);
    if (options.closeStore ?? true) await this.store.close();
  }

  #issue(session: SessionRecord, secret: string, now: number): IssuedTokens {
    const signing = this.keys.signingKey(now);
    const access = signAccessToken({
      issuer: this.issuer,
      audience: this.audience,
      userId: session.userId,
      sid: session.sid,
      now,
      ttl: this.policy.accessTtl,
      kid: signing.kid,
      privateKey: signing.privateKey,
      claims: session.claims,
    });
    return {
      accessToken: access.token,
      tokenType: 'Bearer',
      expiresIn: Math.max(0, Math.round((access.expiresAt - now) / 1000)),
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: formatRefreshToken(session.sid, secret),
      refreshTokenExpiresAt: Math.min(session.idleExpiresAt, session.absoluteExpiresAt),
      session,
      serverTime: now,
    };
  }

  async #countFailedRefresh(sid: string, now: number): Promise<void> {
    const limit = this.policy.maxFailedRefreshesPerMinute;
    if (limit <= 0) return;
    const { count, resetAt } = await this.#call(() => this.store.hit(`refresh-fail:${sid}`, 60_000, now));
    if (count > limit) {
      this.#throttled.set(sid, resetAt);
      if (this.#throttled.size > 10_000) this.#throttled.delete(this.#throttled.keys().next().value!);
      throw rateLimited(resetAt - now);
    }
  }

  #event(type: SessionEventType, session: SessionRecord, ctx: RequestContext | undefined, at: number, reason?: string): SessionEvent {
    return { type, sid: session.sid, userId: session.userId, at, ...contextFields(ctx), ...(reason ? { reason } : {}) };
  }

  #record(events: SessionEvent[]): void {
    this.#events.record(events);
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof TesseraError) throw error;
      throw storeUnavailable(error);
    }
  }

  #open(): void {
    if (this.#closed) throw new TesseraError('store_unavailable', 'the engine is closed');
  }
}

export function createEngine(options: EngineOptions): Promise<Engine> {
  return Engine.create(options);
}

function eventTypeOf(reason: RevokeReason): SessionEventType {
  return reason === 'evicted' ? 'session.evicted' : reason === 'reuse_detected' ? 'session.reuse_detected' : 'session.revoked';
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TesseraError('store_unavailable', `${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function rateLimited(waitMs: number): TesseraError {
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
  return new TesseraError('rate_limited', 'too many failed attempts; try again later', { retryAfter });
}

function clip(value: string | null, max: number): string | null {
  if (value === null || typeof value !== 'string') return null;
  // Control characters never reach logs or the dashboard.
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '');
  return clean.slice(0, max) || null;
}

function checkUserId(userId: unknown): string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID || /[\u0000-\u001f\u007f]/.test(userId)) {
    throw new TesseraError('invalid_request', `userId must be a non-empty string of at most ${MAX_USER_ID} printable characters`);
  }
  return userId;
}

function checkDevice(device: Partial<Device> | undefined): Device {
  if (device === undefined || device === null) return { name: 'Unknown device', kind: 'other' };
  if (typeof device !== 'object') throw new TesseraError('invalid_request', 'device must be an object');
  const name = device.name ?? 'Unknown device';
  const kind = device.kind ?? 'other';
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_DEVICE_NAME) {
    throw new TesseraError('invalid_request', `device.name must be a string of 1 to ${MAX_DEVICE_NAME} characters`);
  }
  if (!DEVICE_KINDS.includes(kind)) throw new TesseraError('invalid_request', `device.kind must be one of ${DEVICE_KINDS.join(', ')}`);
  return { name: clip(name, MAX_DEVICE_NAME) ?? 'Unknown device', kind };
}

function checkClaims(claims: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (claims === undefined || claims === null) return null;
  if (typeof claims !== 'object' || Array.isArray(claims)) throw new TesseraError('invalid_request', 'claims must be a JSON object');
  for (const name of Object.keys(claims)) {
    if (RESERVED_CLAIMS.has(name)) throw new TesseraError('invalid_request', `claim ${JSON.stringify(name)} is reserved`);
  }
  let json: string;
  try {
    json = JSON.stringify(claims);
  } catch {
    throw new TesseraError('invalid_request', 'claims must be JSON-serialisable');
  }
  if (Buffer.byteLength(json) > MAX_CLAIMS_BYTES) throw new TesseraError('invalid_request', `claims must be at most ${MAX_CLAIMS_BYTES} bytes of JSON`);
  return JSON.parse(json) as Record<string, unknown>;
}
