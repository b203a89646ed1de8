/**
 * The remote verifier against a real `tessera serve` (buildServer on a loopback port), with a TCP
 * proxy between them where the network matters. Requests to the service are counted by wrapping the
 * global fetch (a counter, not a fake: every request still goes to the service).
 */
import { createPrivateKey } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore, TesseraError, generateSigningKey, newSessionId, signAccessToken } from '@tessera/core';
import { expectCode, until } from '@tessera/core/conformance';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../../server/src/testing/helpers.js';
import { TcpProxy } from '../testing/proxy.js';
import { createRemoteVerifier, type RemoteVerifier, type RemoteVerifierOptions } from './remote-verifier.js';

const ISSUER = 'https://tessera.test';
const AUDIENCE = 'tessera-tests';

describe('createRemoteVerifier', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  async function service(): Promise<{ server: TestServer; base: string }> {
    const server = await startTestServer(new MemoryStore({ heartbeatInterval: 100 }), { sseHeartbeatInterval: 100 });
    cleanups.push(() => server.close());
    return { server, base: await server.listen() };
  }

  function counting() {
    const calls: string[] = [];
    const wrapped: typeof fetch = (input, init) => {
      calls.push(String(input instanceof Request ? input.url : input));
      return fetch(input, init);
    };
    return { calls, fetch: wrapped };
  }

  async function remote(url: string, options: Partial<RemoteVerifierOptions> = {}): Promise<RemoteVerifier> {
    const verifier = await createRemoteVerifier({ url, adminKey: ADMIN_KEY, issuer: ISSUER, audience: AUDIENCE, heartbeatInterval: 100, ...options });
    cleanups.push(() => verifier.close());
    return verifier;
  }

  async function createSession(server: TestServer, userId: string, claims?: Record<string, unknown>) {
    const reply = await server.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId, ...(claims ? { claims } : {}) } });
    expect(reply.status).toBe(201);
    return { accessToken: reply.body.accessToken as string, sid: reply.body.session.id as string };
  }

  async function revoke(server: TestServer, sid: string) {
    expect((await server.call({ method: 'DELETE', url: `/v1/admin/sessions/${sid}`, token: ADMIN_KEY })).status).toBe(204);
  }

  it('verifies the service’s tokens with no request to it per verification', async () => {
    const { server, base } = await service();
    const counter = counting();
    const verifier = await remote(base, { fetch: counter.fetch, clock: server.clock });
    expect(verifier.feedHealthy).toBe(true);
    const sessions = await Promise.all(Array.from({ length: 20 }, (_, i) => createSession(server, `user-${i}`, { role: 'reader' })));
    const before = counter.calls.length;
    for (let round = 0; round < 5; round++) {
      for (const { accessToken, sid } of sessions) {
        await expect(verifier.verify(accessToken)).resolves.toMatchObject({ sessionId: sid, claims: { role: 'reader', iss: ISSUER } });
      }
    }
    expect(counter.calls.length - before).toBe(0);
    // The start cost: the key set, the stream, one back-fill.
    expect(counter.calls.map((u) => new URL(u).pathname).sort()).toEqual(['/.well-known/jwks.json', '/v1/admin/revocations', '/v1/admin/revocations/stream']);
  });

  it('a revocation on the service reaches it over the stream: measured delay from the revoking response', async () => {
    const { server, base } = await service();
    const verifier = await remote(base, { clock: server.clock });
    const delays: number[] = [];
    for (let i = 0; i < 40; i++) {
      const { accessToken, sid } = await createSession(server, `measure-${i}`);
      await verifier.verify(accessToken);
      await revoke(server, sid);
      const answered = performance.now();
      // Polled on every turn of the event loop (a timer would put its own granularity into the number).
      while (await verifier.verify(accessToken).then(() => true, () => false)) {
        if (performance.now() - answered > 2000) throw new Error('the revocation did not arrive within 2 s');
        await new Promise((resolve) => setImmediate(resolve));
      }
      delays.push(performance.now() - answered);
      await expectCode(verifier.verify(accessToken), 'session_revoked');
    }
    delays.sort((a, b) => a - b);
    const at = (q: number) => delays[Math.min(delays.length - 1, Math.ceil(q * delays.length) - 1)]!;
    console.log(`[remote verifier] revocation → rejection after the revoking response, ms: p50 ${at(0.5).toFixed(1)}, p99 ${at(0.99).toFixed(1)}, max ${delays.at(-1)!.toFixed(1)} (n=${delays.length})`);
    expect(at(0.99)).toBeLessThan(200);
  });

  it('picks up a key rotation from the JWKS on the unknown kid; made-up kids cost no more requests', async () => {
    const { server, base } = await service();
    const counter = counting();
    const verifier = await remote(base, { fetch: counter.fetch, clock: server.clock });
    const jwks = () => counter.calls.filter((u) => u.endsWith('/.well-known/jwks.json')).length;
    expect(jwks()).toBe(1);
    await server.app.tessera.engine.rotateKeys({ immediately: true });
    const { accessToken } = await createSession(server, 'rotated');
    await expect(verifier.verify(accessToken)).resolves.toMatchObject({ userId: 'rotated' });
    expect(jwks()).toBe(2);
    // Tokens naming kids the service never published: refused, and at most one reload per interval.
    const stranger = generateSigningKey(server.clock.now());
    const privateKey = createPrivateKey({ key: stranger.privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    for (let i = 0; i < 20; i++) {
      const forged = signAccessToken({ issuer: ISSUER, audience: AUDIENCE, userId: 'mallory', sid: newSessionId('mallory'), now: server.clock.now(), ttl: 60_000, kid: `made-up-${i}`, privateKey });
      await expectCode(verifier.verify(forged.token), 'invalid_token');
    }
    expect(jwks()).toBe(2);
  });

  it('refuses what core’s verifier refuses: wrong issuer or audience, expired, malformed', async () => {
    const { server, base } = await service();
    const strict = await remote(base, { audience: 'another-api', clock: server.clock });
    const { accessToken } = await createSession(server, 'henry');
    await expectCode(strict.verify(accessToken), 'invalid_token');
    const verifier = await remote(base, { clock: server.clock });
    await expectCode(verifier.verify('not a token'), 'invalid_token');
    await expectCode(verifier.verify(`${accessToken}=`), 'invalid_token');
    server.clock.advance(10 * 60_000 + 31_000);
    await expectCode(verifier.verify(accessToken), 'token_expired');
  });

  it('reconnects with back-off after a partition and back-fills the revocations it missed; fails closed meanwhile', async () => {
    const { server, base } = await service();
    const proxy = await TcpProxy.start(Number(new URL(base).port));
    cleanups.push(() => proxy.close());
    const errors: unknown[] = [];
    const verifier = await remote(proxy.url, { clock: server.clock, staleAfter: 300, onError: (e) => errors.push(e) });
    const missed = await createSession(server, 'ivan');
    const kept = await createSession(server, 'judy');
    await verifier.verify(missed.accessToken);
    await verifier.verify(kept.accessToken);

    proxy.cut();
    await revoke(server, missed.sid);
    await until(() => !verifier.feedHealthy, 2000);
    // Stale, and the service out of reach for introspection too: refused (503), never accepted on trust.
    await expectCode(verifier.verify(kept.accessToken), 'store_unavailable');
    await expectCode(verifier.verify(missed.accessToken), 'store_unavailable');
    expect(errors.length).toBeGreaterThan(0);

    proxy.restore();
    await until(() => verifier.feedHealthy, 10_000);
    await expectCode(verifier.verify(missed.accessToken), 'session_revoked');
    await expect(verifier.verify(kept.accessToken)).resolves.toMatchObject({ userId: 'judy' });
  });

  it('a silent stream: `introspect` asks the service per request and catches what the stream did not say; `reject` refuses', async () => {
    const { server, base } = await service();
    const proxy = await TcpProxy.start(Number(new URL(base).port));
    cleanups.push(() => proxy.close());
    const counter = counting();
    // A long silence timeout, so that the stalled stream stays stalled for the test.
    const settings = { clock: server.clock, staleAfter: 300, silenceTimeout: 60_000 };
    const introspecting = await remote(proxy.url, { ...settings, fetch: counter.fetch });
    const rejecting = await remote(proxy.url, { ...settings, fallback: 'reject' });
    const live = await createSession(server, 'kate', { plan: 'pro' });
    const doomed = await createSession(server, 'leo');
    await introspecting.verify(doomed.accessToken);

    proxy.stallStreams();
    await revoke(server, doomed.sid);
    await until(() => !introspecting.feedHealthy && !rejecting.feedHealthy, 2000);
    const before = counter.calls.length;
    await expectCode(introspecting.verify(doomed.accessToken), 'session_revoked');
    await expect(introspecting.verify(live.accessToken)).resolves.toMatchObject({ userId: 'kate', sessionId: live.sid, claims: { plan: 'pro' } });
    expect(counter.calls.slice(before).map((u) => new URL(u).pathname)).toEqual(['/v1/admin/introspect', '/v1/admin/introspect']);
    await expectCode(rejecting.verify(live.accessToken), 'store_unavailable');
  });

  it('does not start against a service it cannot use: bad URL, wrong admin key, nothing listening', async () => {
    const { base } = await service();
    await expect(createRemoteVerifier({ url: 'ftp://x', adminKey: ADMIN_KEY, issuer: ISSUER, audience: AUDIENCE })).rejects.toMatchObject({ code: 'invalid_config' });
    const started = performance.now();
    const wrongKey = await createRemoteVerifier({ url: base, adminKey: `${ADMIN_KEY}-wrong`, issuer: ISSUER, audience: AUDIENCE, readyTimeout: 800 }).catch((e: unknown) => e);
    expect(wrongKey).toBeInstanceOf(TesseraError);
    expect((wrongKey as TesseraError).code).toBe('store_unavailable');
    expect(performance.now() - started).toBeLessThan(3000);
    const proxy = await TcpProxy.start(Number(new URL(base).port));
    await proxy.close();
    await expect(createRemoteVerifier({ url: proxy.url, adminKey: ADMIN_KEY, issuer: ISSUER, audience: AUDIENCE, readyTimeout: 800 })).rejects.toMatchObject({ code: 'store_unavailable' });
  });
});
