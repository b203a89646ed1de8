import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { expectCode } from './conformance/index.js';
import { Engine } from './engine.js';
import type { SessionEvent } from './events.js';
import { MemoryStore } from './memory-store.js';

describe('engine', () => {
  let engine: Engine;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = new ManualClock();
    engine = await Engine.create({ store: new MemoryStore(), issuer: 'https://issuer.test', audience: ['api', 'web'], clock });
  });
  afterEach(() => engine.close());

  it('issues tokens with the documented shape and units', async () => {
    const t = await engine.createSession({ userId: 'u', device: { name: 'Phone', kind: 'mobile' }, claims: { plan: 'pro' } });
    expect(t).toMatchObject({ tokenType: 'Bearer', expiresIn: 600, accessTokenExpiresAt: clock.now() + 600_000, serverTime: clock.now() });
    expect(t.refreshTokenExpiresAt).toBe(clock.now() + 7 * 86_400_000);
    expect(t.refreshToken).toMatch(/^[A-Za-z0-9_-]{26}\.[A-Za-z0-9_-]{43}$/);
    const [header, payload] = t.accessToken.split('.').slice(0, 2).map((s) => JSON.parse(Buffer.from(s, 'base64url').toString()));
    expect(header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: engine.jwks().keys[0]!.kid });
    expect(payload).toMatchObject({ iss: 'https://issuer.test', aud: ['api', 'web'], sub: 'u', sid: t.session.sid, plan: 'pro' });
    expect(payload.exp - payload.iat).toBe(600);
    // The store never sees the refresh secret.
    expect(JSON.stringify(await engine.store.getSession(t.session.sid))).not.toContain(t.refreshToken.slice(27));
  });

  it('rejects bad input with invalid_request and writes nothing', async () => {
    const bad = [
      { userId: '' },
      { userId: 'x'.repeat(257) },
      { userId: 'a\u0000b' },
      { userId: 42 as unknown as string },
      { userId: 'u', device: { name: '', kind: 'desktop' as const } },
      { userId: 'u', device: { name: 'n', kind: 'toaster' as never } },
      { userId: 'u', device: 'laptop' as never },
      { userId: 'u', claims: { sub: 'admin' } },
      { userId: 'u', claims: { sid: 'x' } },
      { userId: 'u', claims: [] as never },
      { userId: 'u', claims: { big: 'x'.repeat(5000) } },
    ];
    for (const input of bad) await expectCode(engine.createSession(input), 'invalid_request');
    expect(await engine.store.listSessions('u', clock.now())).toEqual([]);
  });

  it('strips control characters from what it stores about the client', async () => {
    const t = await engine.createSession({ userId: 'u', userAgent: 'Evil\r\nSet-Cookie: x', ip: '1.2.3.4\n' });
    expect(t.session.userAgent).toBe('EvilSet-Cookie: x');
    expect(t.session.ip).toBe('1.2.3.4');
  });

  it('gives events to subscribers at once and to the store log after a flush', async () => {
    const seen: SessionEvent[] = [];
    engine.onEvent((e) => seen.push(e));
    engine.onEvent(() => {
      throw new Error('a broken subscriber does not break the engine');
    });
    const t = await engine.createSession({ userId: 'u' });
    engine.recordEvent({ type: 'login.failed', sid: null, userId: null, reason: 'invalid_credentials', ip: '10.0.0.9' });
    expect(seen.map((e) => e.type)).toEqual(['session.created', 'login.failed']);
    await engine.flushEvents();
    const logged = await engine.store.readEvents();
    expect(logged.map((e) => [e.type, e.sid])).toEqual([
      ['session.created', t.session.sid],
      ['login.failed', null],
    ]);
  });

  it('reports a store that is down as store_unavailable', async () => {
    await engine.store.close();
    await expectCode(engine.createSession({ userId: 'u' }), 'store_unavailable');
    await expectCode(engine.refresh(`${'A'.repeat(26)}.${'A'.repeat(43)}`), 'store_unavailable');
    await expectCode(engine.listSessions('u'), 'store_unavailable');
  });

  it('refuses a missing issuer or audience', async () => {
    await expectCode(Engine.create({ store: new MemoryStore(), issuer: '', audience: 'a' }), 'invalid_config');
    await expectCode(Engine.create({ store: new MemoryStore(), issuer: 'i', audience: [] }), 'invalid_config');
  });
});

describe('engine start-up', () => {
  it('gives up with store_unavailable when the revocation feed never connects', async () => {
    const store = new MemoryStore();
    // A feed that accepts subscribers but never says it is connected.
    Object.defineProperty(store, 'feed', { value: { heartbeatInterval: 1000, subscribe: () => () => {} } });
    await expectCode(Engine.create({ store, issuer: 'i', audience: 'a', readyTimeout: 50 }), 'store_unavailable');
  });
});

describe('back-fill', () => {
  it('reads every retained revocation, page by page, when the verifier starts', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const first = await Engine.create({ store, issuer: 'i', audience: 'a', clock, policy: { maxSessionsPerUser: 0 } });
    const issued = [];
    for (let i = 0; i < 12_000; i++) issued.push(await first.createSession({ userId: `u${i % 50}` }));
    // Revoke them all outside any engine, so only the back-fill can tell a new verifier.
    for (const [i, t] of issued.entries()) {
      // Most a millisecond apart, and a burst of 6,000 in one instant (more than a page).
      if (i < 3_000 || i >= 9_000) clock.advance(1);
      await store.revokeSession({ sid: t.session.sid, reason: 'admin', now: clock.now(), retention: 3_600_000 });
    }
    const second = await Engine.create({ store, issuer: 'i', audience: 'a', clock });
    for (const t of [issued[0]!, issued[2_999]!, issued[3_000]!, issued[6_000]!, issued[8_999]!, issued[9_000]!, issued[11_999]!]) {
      await expectCode(second.verify(t.accessToken), 'session_revoked');
    }
    await second.close({ closeStore: false });
    await first.close();
  });
});
