/**
 * The framework-free protection check, on a real engine: what the adapters translate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, MemoryStore, TesseraError, type VerifiedAccess } from '@tessera/core';
import { createAuthenticate, satisfies, type AccessRequest } from './access.js';

describe('createAuthenticate', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.create({ store: new MemoryStore(), issuer: 'https://tessera.test', audience: 'app' });
  });
  afterAll(() => engine.close());

  const request = (overrides: Partial<AccessRequest>): AccessRequest => ({ method: 'GET', authorization: undefined, cookie: undefined, csrf: undefined, ...overrides });

  it('answers the caller, or the denial to send', async () => {
    const authenticate = createAuthenticate({ verifier: engine });
    const { accessToken, session } = await engine.createSession({ userId: 'alice', claims: { roles: ['editor', 'reviewer'] } });
    const ok = await authenticate(request({ authorization: `Bearer ${accessToken}` }));
    expect(ok).toEqual({ ok: true, auth: { userId: 'alice', sessionId: session.sid, claims: expect.objectContaining({ roles: ['editor', 'reviewer'] }) } });
    const missing = await authenticate(request({}));
    expect(missing).toEqual({
      ok: false,
      denial: {
        status: 401,
        headers: { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer realm="tessera"' },
        body: { error: { code: 'unauthorized', message: expect.any(String) } },
      },
    });
  });

  it('a custom realm, and cookie names; quotes cannot break out of the challenge', async () => {
    const authenticate = createAuthenticate({ verifier: engine, realm: 'shop "api"', cookie: 'session_at' });
    const { accessToken } = await engine.createSession({ userId: 'bob' });
    const denied = await authenticate(request({ authorization: 'Bearer nope' }));
    expect(!denied.ok && denied.denial.headers['www-authenticate']).toBe('Bearer realm="shop api", error="invalid_token"');
    expect((await authenticate(request({ cookie: `other=1; session_at=${accessToken}` }))).ok).toBe(true);
    expect((await authenticate(request({ cookie: `__Host-tessera_access=${accessToken}` }))).ok).toBe(false);
    // CSRF proof for unsafe methods, unless the app turns it off.
    expect((await authenticate(request({ method: 'DELETE', cookie: `session_at=${accessToken}` }))).ok).toBe(false);
    const relaxed = createAuthenticate({ verifier: engine, cookie: 'session_at', csrf: false });
    expect((await relaxed(request({ method: 'DELETE', cookie: `session_at=${accessToken}` }))).ok).toBe(true);
  });

  it('lets failures that are not the caller’s through to the framework', async () => {
    const broken = { verify: async (): Promise<VerifiedAccess> => Promise.reject(new Error('a bug')) };
    await expect(createAuthenticate({ verifier: broken })(request({ authorization: 'Bearer a.b.c' }))).rejects.toThrow('a bug');
    expect(() => createAuthenticate({} as never)).toThrow(TesseraError);
  });
});

describe('satisfies', () => {
  const claims = { sub: 'u', role: 'admin', roles: ['a', 'b'], tier: 3, beta: true };
  it('equality, one of a list, membership in a list claim, or any test', () => {
    expect(satisfies(claims, { role: 'admin' })).toBe(true);
    expect(satisfies(claims, { role: ['owner', 'admin'] })).toBe(true);
    expect(satisfies(claims, { roles: 'b' })).toBe(true);
    expect(satisfies(claims, { roles: ['c', 'a'] })).toBe(true);
    expect(satisfies(claims, { tier: 3, beta: true })).toBe(true);
    expect(satisfies(claims, { role: 'admin', tier: 4 })).toBe(false);
    expect(satisfies(claims, { missing: 'x' })).toBe(false);
    expect(satisfies(claims, { tier: '3' })).toBe(false);
    expect(satisfies(claims, (c) => c.tier === 3)).toBe(true);
    expect(satisfies(claims, () => 'yes' as unknown as boolean)).toBe(false);
  });
});
