/**
 * The store conformance suite: the executable definition of a `SessionStore`. Every store package
 * runs it (in the manner of Auth.js's shared adapter tests):
 *
 *     import { runStoreConformance } from '@tessera/core/conformance';
 *     runStoreConformance({ name: 'sqlite', open: async () => new SqliteStore({ path: tempFile() }) });
 *
 * It drives the store through the engine (the way production uses it) and directly (for the awkward
 * cases of the contract), with an injected clock, and includes the concurrency cases.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { Engine, type IssuedTokens } from '../engine.js';
import { TesseraError, type ErrorCode } from '../errors.js';
import type { FeedListener } from '../feed.js';
import type { PolicyInput } from '../policy.js';
import type { RevocationEntry, SessionRecord } from '../session.js';
import type { SessionStore } from '../store.js';

export interface ConformanceTarget {
  name: string;
  /** A store on a new, empty backend (a fresh file, database, key prefix): tests never share state. */
  open(): Promise<SessionStore>;
  /**
   * A second, independent handle on the backend of `store` (another connection, as another process
   * would have). The memory store returns the same object.
   */
  reopen(store: SessionStore): Promise<SessionStore>;
  /** Runs once after the whole suite. */
  cleanup?(): Promise<void>;
  /** Time allowed for the feed to deliver across handles (ms). Default 3000. */
  feedDelay?: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

export function runStoreConformance(target: ConformanceTarget): void {
  describe(`store conformance: ${target.name}`, () => {
    const opened: { close(): Promise<void> }[] = [];
    const feedDelay = target.feedDelay ?? 3000;

    afterEach(async () => {
      for (const thing of opened.splice(0).reverse()) await thing.close().catch(() => undefined);
    });
    if (target.cleanup) afterAll(() => target.cleanup!());

    async function open(): Promise<SessionStore> {
      const store = await target.open();
      opened.push(store);
      return store;
    }

    async function engineOn(store: SessionStore, policy: PolicyInput = {}, clock = new ManualClock(Date.now())) {
      const engine = await Engine.create({ store, issuer: 'https://tessera.test', audience: 'conformance', policy, clock });
      opened.push({ close: () => engine.close({ closeStore: false }) });
      return { engine, clock };
    }

    async function setup(policy: PolicyInput = {}) {
      const store = await open();
      return { store, ...(await engineOn(store, policy)) };
    }

    describe('create, get, list', () => {
      it('stores the session and returns it by sid and in the user list, most recently seen first', async () => {
        const { store, engine, clock } = await setup();
        const a = await engine.createSession({ userId: 'alice', device: { name: 'Laptop', kind: 'desktop' }, ip: '10.0.0.1', userAgent: 'UA/1' });
        clock.advance(1000);
        const b = await engine.createSession({ userId: 'alice', claims: { role: 'admin' } });
        await engine.createSession({ userId: 'bob' });

        const got = await store.getSession(a.session.sid);
        expect(got).toEqual(a.session);
        expect(got).toMatchObject({ userId: 'alice', device: { name: 'Laptop', kind: 'desktop' }, ip: '10.0.0.1', userAgent: 'UA/1', revokedAt: null });
        expect((await store.getSession(b.session.sid))?.claims).toEqual({ role: 'admin' });

        const list = await store.listSessions('alice', clock.now());
        expect(list.map((s) => s.sid)).toEqual([b.session.sid, a.session.sid]);
        expect(await store.listSessions('nobody', clock.now())).toEqual([]);
      });

      it('answers null for unknown and malformed sids, never an error', async () => {
        const store = await open();
        for (const sid of ['AAAAAAAAAAAAAAAAAAAAAAAAAA', '', 'x', '*', "'; DROP TABLE sessions; --", '{tag}', 'a'.repeat(5000), 'ñ\u0000']) {
          expect(await store.getSession(sid)).toBeNull();
        }
      });

      it('hands out copies: mutating a returned record changes nothing stored', async () => {
        const { store, engine, clock } = await setup();
        const { session } = await engine.createSession({ userId: 'carol' });
        const got = (await store.getSession(session.sid))!;
        got.userId = 'mallory';
        got.device.name = 'changed';
        got.refresh.olderHashes.push('x');
        const again = (await store.getSession(session.sid))!;
        expect(again.userId).toBe('carol');
        expect(again.device.name).not.toBe('changed');
        expect(again.refresh.olderHashes).toEqual([]);
        expect((await store.listSessions('carol', clock.now()))[0]!.userId).toBe('carol');
      });

      it('never uses a caller-supplied id: every sid is fresh and carries 128 random bits', async () => {
        const { engine } = await setup({ maxSessionsPerUser: 0 });
        const sids = new Set<string>();
        for (let i = 0; i < 20; i++) sids.add((await engine.createSession({ userId: 'dave' })).session.sid);
        expect(sids.size).toBe(20);
        for (const sid of sids) expect(sid).toMatch(/^[A-Za-z0-9_-]{26}$/);
      });
    });

    describe('device limit', () => {
      it('50 concurrent logins with a limit of 3 leave exactly 3 live sessions; the 47 others are evicted and announced', async () => {
        const { store, engine, clock } = await setup({ maxSessionsPerUser: 3, onLimit: 'evict-oldest' });
        const announced: RevocationEntry[] = [];
        const stop = subscribe(store, { revoked: (e) => announced.push(e) });
        try {
          const issued = await Promise.all(Array.from({ length: 50 }, () => engine.createSession({ userId: 'erin' })));
          const live = await store.listSessions('erin', clock.now());
          expect(live).toHaveLength(3);
          const liveSids = new Set(live.map((s) => s.sid));
          const evicted = issued.filter((t) => !liveSids.has(t.session.sid));
          expect(evicted).toHaveLength(47);
          for (const t of evicted) {
            const record = await store.getSession(t.session.sid);
            expect(record?.revokeReason).toBe('evicted');
            expect(record?.revokedAt).not.toBeNull();
          }
          await until(() => new Set(announced.filter((e) => e.reason === 'evicted').map((e) => e.sid)).size === 47, feedDelay);
          expect(new Set(announced.map((e) => e.sid))).toEqual(new Set(evicted.map((t) => t.session.sid)));
          for (const t of evicted.slice(0, 5)) await expectCode(engine.verify(t.accessToken), 'session_revoked');
          for (const t of issued.filter((t) => liveSids.has(t.session.sid))) await expect(engine.verify(t.accessToken)).resolves.toBeTruthy();
        } finally {
          stop();
        }
      });

      it('evicts the least recently seen session, where a refresh counts as being seen', async () => {
        const { store, engine, clock } = await setup({ maxSessionsPerUser: 3 });
        const a = await engine.createSession({ userId: 'frank' });
        clock.advance(MINUTE);
        const b = await engine.createSession({ userId: 'frank' });
        clock.advance(MINUTE);
        await engine.createSession({ userId: 'frank' });
        clock.advance(MINUTE);
        await engine.refresh(a.refreshToken); // a is now the most recently seen
        clock.advance(MINUTE);
        const d = await engine.createSession({ userId: 'frank' });
        const live = (await store.listSessions('frank', clock.now())).map((s) => s.sid);
        expect(live).toHaveLength(3);
        expect(live).not.toContain(b.session.sid);
        expect(live).toContain(a.session.sid);
        expect(live[0]).toBe(d.session.sid);
        expect((await store.getSession(b.session.sid))?.revokeReason).toBe('evicted');
      });

      it('expired and revoked sessions do not count against the limit', async () => {
        const { store, engine, clock } = await setup({ maxSessionsPerUser: 2, idleTimeout: '1h' });
        const a = await engine.createSession({ userId: 'gina' });
        await engine.revoke(a.session.sid, 'logout');
        await engine.createSession({ userId: 'gina' });
        clock.advance(2 * 3_600_000); // the second one idles out
        const c = await engine.createSession({ userId: 'gina' });
        const d = await engine.createSession({ userId: 'gina' });
        const live = (await store.listSessions('gina', clock.now())).map((s) => s.sid).sort();
        expect(live).toEqual([c.session.sid, d.session.sid].sort());
      });

      it('with onLimit "reject", the login over the limit fails with session_limit_reached and writes nothing', async () => {
        const { store, engine, clock } = await setup({ maxSessionsPerUser: 3, onLimit: 'reject' });
        const since = clock.now();
        for (let i = 0; i < 3; i++) await engine.createSession({ userId: 'hank' });
        await expectCode(engine.createSession({ userId: 'hank' }), 'session_limit_reached');
        expect(await store.listSessions('hank', clock.now())).toHaveLength(3);
        expect(await store.revocationsSince(since)).toEqual([]);
      });

      it('with onLimit "reject", 10 concurrent logins against a limit of 3 admit exactly 3', async () => {
        const { store, engine, clock } = await setup({ maxSessionsPerUser: 3, onLimit: 'reject' });
        const results = await Promise.allSettled(Array.from({ length: 10 }, () => engine.createSession({ userId: 'ivy' })));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
        for (const r of results) if (r.status === 'rejected') expect((r.reason as TesseraError).code).toBe('session_limit_reached');
        expect(await store.listSessions('ivy', clock.now())).toHaveLength(3);
      });

      it('limits are per user', async () => {
        const { store, engine, clock } = await setup({ maxSessionsPerUser: 1 });
        await engine.createSession({ userId: 'u1' });
        await engine.createSession({ userId: 'u2' });
        expect(await store.listSessions('u1', clock.now())).toHaveLength(1);
        expect(await store.listSessions('u2', clock.now())).toHaveLength(1);
      });
    });

    describe('refresh rotation', () => {
      it('rotates: a new refresh token, a slid idle expiry, lastSeenAt updated', async () => {
        const { store, engine, clock } = await setup({ idleTimeout: '1d', absoluteTimeout: '30d' });
        const first = await engine.createSession({ userId: 'jack' });
        clock.advance(3_600_000);
        const second = await engine.refresh(first.refreshToken);
        expect(second.refreshToken).not.toBe(first.refreshToken);
        expect(second.session.sid).toBe(first.session.sid);
        const record = (await store.getSession(first.session.sid))!;
        expect(record.lastSeenAt).toBe(clock.now());
        expect(record.idleExpiresAt).toBe(clock.now() + DAY);
        expect(record.refresh.generation).toBe(1);
        await expect(engine.verify(second.accessToken)).resolves.toMatchObject({ userId: 'jack', sessionId: first.session.sid });
      });

      it('20 concurrent refreshes with the same token all succeed with the same new refresh token', async () => {
        const { store, engine } = await setup();
        const first = await engine.createSession({ userId: 'kate' });
        const results = await Promise.all(Array.from({ length: 20 }, () => engine.refresh(first.refreshToken)));
        expect(new Set(results.map((r) => r.refreshToken)).size).toBe(1);
        expect(results[0]!.refreshToken).not.toBe(first.refreshToken);
        const record = (await store.getSession(first.session.sid))!;
        expect(record.revokedAt).toBeNull();
        expect(record.refresh.generation).toBe(1);
        // The converged token is the live one: it rotates on.
        await expect(engine.refresh(results[0]!.refreshToken)).resolves.toBeTruthy();
      });

      it('the previous token within the grace window returns the same successor, on another handle too', async () => {
        const { store, engine, clock } = await setup({ refreshGrace: '10s' });
        const other = await target.reopen(store);
        if (other !== store) opened.push(other);
        const { engine: engine2 } = await engineOn(other, { refreshGrace: '10s' }, clock);
        const first = await engine.createSession({ userId: 'liam' });
        const a = await engine.refresh(first.refreshToken);
        clock.advance(9_000);
        const b = await engine2.refresh(first.refreshToken);
        expect(b.refreshToken).toBe(a.refreshToken);
        expect((await store.getSession(first.session.sid))!.revokedAt).toBeNull();
      });

      it('the previous token after the grace window revokes the session (reuse_detected), and its successor dies with it', async () => {
        const { store, engine, clock } = await setup({ refreshGrace: '10s' });
        const announced: RevocationEntry[] = [];
        const stop = subscribe(store, { revoked: (e) => announced.push(e) });
        try {
          const first = await engine.createSession({ userId: 'mia' });
          const second = await engine.refresh(first.refreshToken);
          clock.advance(10_001);
          await expectCode(engine.refresh(first.refreshToken), 'session_revoked');
          const record = (await store.getSession(first.session.sid))!;
          expect(record.revokeReason).toBe('reuse_detected');
          await expectCode(engine.refresh(second.refreshToken), 'session_revoked');
          await expectCode(engine.verify(second.accessToken), 'session_revoked');
          await until(() => announced.some((e) => e.sid === first.session.sid && e.reason === 'reuse_detected'), feedDelay);
        } finally {
          stop();
        }
      });

      it('a token two generations old is reuse even inside the grace window', async () => {
        const { store, engine, clock } = await setup({ refreshGrace: '10s' });
        const t0 = await engine.createSession({ userId: 'noah' });
        const t1 = await engine.refresh(t0.refreshToken);
        clock.advance(1000);
        await engine.refresh(t1.refreshToken);
        await expectCode(engine.refresh(t0.refreshToken), 'session_revoked');
        expect((await store.getSession(t0.session.sid))!.revokeReason).toBe('reuse_detected');
      });

      it('remembers refreshHistory superseded secrets; older ones are merely invalid', async () => {
        const { store, engine, clock } = await setup({ refreshHistory: 3, refreshGrace: '1s' });
        const tokens: IssuedTokens[] = [await engine.createSession({ userId: 'olga' })];
        for (let i = 0; i < 5; i++) {
          clock.advance(2000);
          tokens.push(await engine.refresh(tokens.at(-1)!.refreshToken));
        }
        expect((await store.getSession(tokens[0]!.session.sid))!.refresh.olderHashes).toHaveLength(2);
        await expectCode(engine.refresh(tokens[0]!.refreshToken), 'invalid_refresh_token');
        expect((await store.getSession(tokens[0]!.session.sid))!.revokedAt).toBeNull();
        await expectCode(engine.refresh(tokens[2]!.refreshToken), 'session_revoked');
      });

      it('tampered, truncated, unknown and garbage refresh tokens are invalid_refresh_token and revoke nothing', async () => {
        const { store, engine } = await setup();
        const t = await engine.createSession({ userId: 'pete' });
        const sid = t.session.sid;
        const secret = t.refreshToken.slice(27);
        const flipped = secret[0] === 'A' ? 'B' + secret.slice(1) : 'A' + secret.slice(1);
        const bad: unknown[] = [
          `${sid}.${flipped}`,
          t.refreshToken.slice(0, -1),
          t.refreshToken + 'A',
          `AAAAAAAAAAAAAAAAAAAAAAAAAA.${secret}`,
          `${sid}.${secret.replace(/./, '=')}`,
          `${sid}:${secret}`,
          `${sid}.${secret} `,
          '',
          '.',
          'garbage',
          'x'.repeat(100_000),
          null,
          undefined,
          42,
          { token: t.refreshToken },
          [t.refreshToken],
        ];
        for (const token of bad) await expectCode(engine.refresh(token), 'invalid_refresh_token');
        const record = (await store.getSession(sid))!;
        expect(record.revokedAt).toBeNull();
        expect(record.refresh.generation).toBe(0);
        await expect(engine.refresh(t.refreshToken)).resolves.toBeTruthy();
      });

      it('throttles failed refreshes of a session', async () => {
        const { engine } = await setup({ maxFailedRefreshesPerMinute: 3 });
        const t = await engine.createSession({ userId: 'quinn' });
        const wrong = `${t.session.sid}.${'A'.repeat(43)}`;
        for (let i = 0; i < 3; i++) await expectCode(engine.refresh(wrong), 'invalid_refresh_token');
        const error = await engine.refresh(wrong).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TesseraError);
        expect((error as TesseraError).code).toBe('rate_limited');
        expect((error as TesseraError).retryAfter).toBeGreaterThan(0);
      });
    });

    describe('expiry', () => {
      it('an idle session cannot be refreshed and is not listed', async () => {
        const { store, engine, clock } = await setup({ idleTimeout: '1h', absoluteTimeout: '1d' });
        const t = await engine.createSession({ userId: 'rose' });
        clock.advance(3_600_000 - 1);
        const t2 = await engine.refresh(t.refreshToken);
        clock.advance(3_600_000);
        await expectCode(engine.refresh(t2.refreshToken), 'session_expired');
        expect(await store.listSessions('rose', clock.now())).toEqual([]);
      });

      it('refreshes never extend a session past its absolute lifetime', async () => {
        const { store, engine, clock } = await setup({ idleTimeout: '1d', absoluteTimeout: '3d' });
        let t = await engine.createSession({ userId: 'sam' });
        const absolute = t.session.absoluteExpiresAt;
        expect(absolute).toBe(clock.now() + 3 * DAY);
        for (let i = 0; i < 3; i++) {
          clock.advance(20 * 3_600_000);
          t = await engine.refresh(t.refreshToken);
          expect(t.session.idleExpiresAt).toBeLessThanOrEqual(absolute);
          expect(t.refreshTokenExpiresAt).toBeLessThanOrEqual(absolute);
        }
        expect((await store.getSession(t.session.sid))!.idleExpiresAt).toBe(absolute);
        clock.set(absolute);
        await expectCode(engine.refresh(t.refreshToken), 'session_expired');
      });
    });

    describe('revocation', () => {
      it('is idempotent, is recorded as an entry, and is readable since a time', async () => {
        const { store, engine, clock } = await setup();
        const t = await engine.createSession({ userId: 'tina' });
        const before = clock.now();
        clock.advance(5);
        expect(await engine.revoke(t.session.sid, 'logout')).toBe(true);
        const at = clock.now();
        clock.advance(5);
        expect(await engine.revoke(t.session.sid, 'admin')).toBe(false);
        const record = (await store.getSession(t.session.sid))!;
        expect(record).toMatchObject({ revokedAt: at, revokeReason: 'logout' });
        const entries = await store.revocationsSince(before);
        expect(entries).toEqual([{ sid: t.session.sid, userId: 'tina', reason: 'logout', at }]);
        expect(await store.revocationsSince(at + 1)).toEqual([]);
        await expectCode(engine.refresh(t.refreshToken), 'session_revoked');
        await expectCode(engine.verify(t.accessToken), 'session_revoked');
        expect(await store.listSessions('tina', clock.now())).toEqual([]);
      });

      it('revoking an unknown sid is a no-op answer', async () => {
        const { store, engine, clock } = await setup();
        expect(await engine.revoke('AAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe(false);
        expect(await store.revokeSession({ sid: 'nope', reason: 'admin', now: clock.now(), retention: MINUTE })).toBeNull();
      });

      it('revokes every session of a user except one, in one call', async () => {
        const { store, engine, clock } = await setup();
        const keep = await engine.createSession({ userId: 'uma' });
        const others = [await engine.createSession({ userId: 'uma' }), await engine.createSession({ userId: 'uma' })];
        const bystander = await engine.createSession({ userId: 'vic' });
        expect(await engine.revokeUser('uma', { exceptSid: keep.session.sid, reason: 'revoked' })).toBe(2);
        expect((await store.listSessions('uma', clock.now())).map((s) => s.sid)).toEqual([keep.session.sid]);
        for (const o of others) expect((await store.getSession(o.session.sid))!.revokeReason).toBe('revoked');
        expect(await engine.revokeUser('uma', { exceptSid: keep.session.sid })).toBe(0);
        expect(await engine.revokeUser('uma', { reason: 'password_changed' })).toBe(1);
        expect(await store.listSessions('uma', clock.now())).toEqual([]);
        expect(await store.listSessions('vic', clock.now())).toHaveLength(1);
        await expect(engine.verify(bystander.accessToken)).resolves.toBeTruthy();
      });

      it('a revocation through one handle is rejected by an engine on another handle', async () => {
        const { store, engine } = await setup();
        const other = await target.reopen(store);
        if (other !== store) opened.push(other);
        const { engine: remote } = await engineOn(other);
        const t = await engine.createSession({ userId: 'walt' });
        await expect(remote.verify(t.accessToken)).resolves.toMatchObject({ sessionId: t.session.sid });
        await engine.revoke(t.session.sid, 'logout');
        await until(async () => (await remote.verify(t.accessToken).then(() => false, () => true)), feedDelay);
        await expectCode(remote.verify(t.accessToken), 'session_revoked');
      });

      it('a verifier whose feed is silent checks the store (check-store) or refuses (reject)', async () => {
        let silentFor = 0;
        const monotonic = () => performance.now() + silentFor;
        const store = await open();
        const checking = await Engine.create({ store, issuer: 'https://tessera.test', audience: 'conformance', monotonic });
        opened.push({ close: () => checking.close({ closeStore: false }) });
        const strict = await Engine.create({ store, issuer: 'https://tessera.test', audience: 'conformance', monotonic, policy: { feedFallback: 'reject' } });
        opened.push({ close: () => strict.close({ closeStore: false }) });
        const t = await checking.createSession({ userId: 'xena' });
        silentFor = 60_000;
        expect(checking.verifier.feedHealthy).toBe(false);
        await expect(checking.verify(t.accessToken)).resolves.toBeTruthy();
        await expectCode(strict.verify(t.accessToken), 'store_unavailable');
        // A revocation written without the feed reaching this verifier is still caught by the store check.
        await store.revokeSession({ sid: t.session.sid, reason: 'admin', now: Date.now(), retention: MINUTE });
        const fresh = await Engine.create({ store, issuer: 'https://tessera.test', audience: 'conformance', monotonic });
        opened.push({ close: () => fresh.close({ closeStore: false }) });
        silentFor += 60_000;
        await expectCode(checking.verify(t.accessToken), 'session_revoked');
      });
    });

    describe('feed', () => {
      it('tells a new subscriber it is connected and sends heartbeats', async () => {
        const store = await open();
        let connected = false;
        let beats = 0;
        const stop = subscribe(store, { connected: () => (connected = true), heartbeat: () => beats++ });
        try {
          await until(() => connected && beats >= 1, Math.max(feedDelay, store.feed.heartbeatInterval * 3));
        } finally {
          stop();
        }
      });
    });

    describe('events', () => {
      it('appends in order and reads after a cursor', async () => {
        const store = await open();
        const at = Date.now();
        await store.appendEvents([
          { type: 'session.created', sid: 's1', userId: 'u', at, ip: '1.2.3.4', traceId: '0af7651916cd43dd8448eb211c80319c' },
          { type: 'login.failed', sid: null, userId: null, at: at + 1, reason: 'invalid_credentials' },
        ]);
        await store.appendEvents([{ type: 'session.revoked', sid: 's1', userId: 'u', at: at + 2, reason: 'logout' }]);
        const all = await store.readEvents();
        expect(all.map((e) => e.type)).toEqual(['session.created', 'login.failed', 'session.revoked']);
        expect(all[0]).toMatchObject({ sid: 's1', userId: 'u', at, ip: '1.2.3.4', traceId: '0af7651916cd43dd8448eb211c80319c' });
        expect(all[1]).toMatchObject({ sid: null, userId: null, reason: 'invalid_credentials' });
        expect(new Set(all.map((e) => e.id)).size).toBe(3);
        const after = await store.readEvents({ after: all[0]!.id });
        expect(after.map((e) => e.type)).toEqual(['login.failed', 'session.revoked']);
        expect(await store.readEvents({ after: all[2]!.id })).toEqual([]);
        expect(await store.readEvents({ limit: 1 })).toHaveLength(1);
      });

      it('records every state change of the engine with its cause', async () => {
        const { store, engine } = await setup({ maxSessionsPerUser: 1 });
        const ctx = { ip: '192.0.2.1', userAgent: 'Test/1', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' };
        const a = await engine.createSession({ userId: 'yan' }, ctx);
        await engine.refresh(a.refreshToken, ctx);
        const b = await engine.createSession({ userId: 'yan' }, ctx);
        await engine.revoke(b.session.sid, 'logout', ctx);
        await engine.flushEvents();
        const events = (await store.readEvents({ limit: 100 })).filter((e) => e.userId === 'yan');
        expect(events.map((e) => [e.type, e.reason ?? null])).toEqual([
          ['session.created', null],
          ['session.refreshed', null],
          ['session.evicted', 'evicted'],
          ['session.created', null],
          ['session.revoked', 'logout'],
        ]);
        for (const e of events) expect(e).toMatchObject({ ip: '192.0.2.1', userAgent: 'Test/1', traceId: ctx.traceId });
      });
    });

    describe('keys', () => {
      it('two engines on one backend sign and verify with one shared key set', async () => {
        const { store, engine } = await setup();
        const other = await target.reopen(store);
        if (other !== store) opened.push(other);
        const { engine: second } = await engineOn(other);
        expect(second.jwks()).toEqual(engine.jwks());
        const t = await second.createSession({ userId: 'zed' });
        await expect(engine.verify(t.accessToken)).resolves.toMatchObject({ userId: 'zed' });
      });

      it('stores, replaces and deletes keys by kid', async () => {
        const store = await open();
        const key = { kid: 'k1', publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'x' }, privateJwk: { kty: 'OKP', crv: 'Ed25519', x: 'x', d: 'd' }, createdAt: 1, activatesAt: 1, retiresAt: null, expiresAt: null };
        await store.putKey(key);
        await store.putKey({ ...key, retiresAt: 5, expiresAt: 9 });
        expect(await store.listKeys()).toEqual([{ ...key, retiresAt: 5, expiresAt: 9 }]);
        await store.deleteKey('k1');
        await store.deleteKey('unknown');
        expect(await store.listKeys()).toEqual([]);
      });
    });

    describe('users and counters', () => {
      it('creates, finds, updates and deletes users; usernames are unique', async () => {
        const store = await open();
        const user = { id: 'u-1', username: 'ada', passwordHash: 'scrypt$x', createdAt: 1, updatedAt: 1 };
        await store.createUser(user);
        await store.createUser({ ...user, id: 'u-2', username: 'bea' });
        await expectCode(store.createUser({ ...user, id: 'u-3' }), 'conflict');
        await expectCode(store.createUser({ ...user, username: 'cid' }), 'conflict');
        expect(await store.getUserByUsername('ada')).toEqual(user);
        expect(await store.getUser('u-1')).toEqual(user);
        expect(await store.getUserByUsername('nobody')).toBeNull();
        expect(await store.setPasswordHash('u-1', 'scrypt$y', 7)).toBe(true);
        expect(await store.setPasswordHash('nope', 'scrypt$y', 7)).toBe(false);
        expect(await store.getUser('u-1')).toMatchObject({ passwordHash: 'scrypt$y', updatedAt: 7 });
        expect((await store.listUsers()).map((u) => u.username)).toEqual(['ada', 'bea']);
        expect(await store.deleteUser('u-1')).toBe(true);
        expect(await store.deleteUser('u-1')).toBe(false);
        expect(await store.getUserByUsername('ada')).toBeNull();
        await store.createUser({ ...user, id: 'u-4' });
      });

      it('counts hits in a fixed window, atomically', async () => {
        const store = await open();
        const now = Date.now();
        const counts = await Promise.all(Array.from({ length: 10 }, () => store.hit('login:ada', 60_000, now)));
        expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(counts[0]!.resetAt).toBe(now + 60_000);
        expect((await store.hit('login:bob', 60_000, now)).count).toBe(1);
        expect((await store.hit('login:ada', 60_000, now + 60_000)).count).toBe(1);
      });
    });

    describe('lifecycle', () => {
      it('answers ping while open, and store_unavailable after close', async () => {
        const store = await target.open();
        await store.ping();
        await store.close();
        await store.close();
        await expectCode(store.getSession('AAAAAAAAAAAAAAAAAAAAAAAAAA'), 'store_unavailable');
        await expectCode(store.ping(), 'store_unavailable');
      });
    });
  });
}

export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof TesseraError)) {
    throw new Error(`expected TesseraError ${code}, got ${error === undefined ? 'success' : String(error)}`);
  }
  expect(error.code).toBe(code);
}

/** Polls `check` until it is true or `timeout` ms pass (then fails). */
export async function until(check: () => boolean | Promise<boolean>, timeout: number): Promise<void> {
  const deadline = performance.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function subscribe(store: SessionStore, partial: Partial<FeedListener>): () => void {
  return store.feed.subscribe({ revoked: () => {}, heartbeat: () => {}, connected: () => {}, ...partial });
}

export type { SessionRecord };
export { runSessionDataConformance, type SessionDataConformanceTarget } from './session-data.js';
