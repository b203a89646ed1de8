/**
 * The black-box HTTP contract suite (DESIGN "The HTTP contract of the service"): every public and
 * admin endpoint, every error code, the transports and their CSRF defence, push, throttling and bad
 * input. It takes a store factory, so that the same behaviour is held on every store:
 *
 *     runHttpContract({ name: 'sqlite', open: async () => new SqliteStore({ path: tempFile() }) });
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionStore } from '@tessera/core';
import type { ServerOptions } from '../server.js';
import {
  ADMIN_KEY,
  APP_ORIGIN,
  COOKIE_REQUEST_HEADERS,
  PASSWORD,
  login,
  openEvents,
  openSse,
  rawHttp,
  sleep,
  startTestServer,
  type ContractServer,
} from './helpers.js';

export interface HttpContractTarget {
  name: string;
  /** A store on a new, empty backend: tests never share state. */
  open(): Promise<SessionStore>;
  /**
   * Starts what is under test on the store, with the service's test settings (helpers.ts) and
   * `options` over them. Default: the service itself (`buildServer`). The mounts of @tessera/node pass
   * their own, so that the same suite holds them to the same behaviour.
   */
  start?(store: SessionStore, options: Partial<ServerOptions>): Promise<ContractServer>;
}

const COOKIE = '__Host-tessera_refresh';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TOKEN_RESPONSE_KEYS = ['accessToken', 'tokenType', 'expiresIn', 'accessTokenExpiresAt', 'session', 'serverTime', 'refreshTokenExpiresAt'];

export function runHttpContract(target: HttpContractTarget): void {
  describe(`HTTP contract: ${target.name}`, () => {
    const servers: ContractServer[] = [];
    const cleanups: (() => unknown)[] = [];
    afterEach(async () => {
      for (const fn of cleanups.splice(0)) await fn();
      for (const server of servers.splice(0)) await server.close();
    });

    async function start(options: Partial<ServerOptions> = {}): Promise<ContractServer> {
      const server = await (target.start ?? startTestServer)(await target.open(), options);
      servers.push(server);
      return server;
    }

    function expectError(reply: { status: number; body: any; headers: Record<string, unknown> }, status: number, code: string): void {
      expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code });
      expect(typeof reply.body.error.message).toBe('string');
      expect(Object.keys(reply.body)).toEqual(['error']);
    }

    describe('login', () => {
      it('cookie transport: the refresh token only in a __Host- HttpOnly Secure SameSite=Strict cookie, never in the body', async () => {
        const s = await start();
        await s.user('alice');
        const reply = await s.call({ method: 'POST', url: '/v1/auth/login', headers: COOKIE_REQUEST_HEADERS, body: { username: 'alice', password: PASSWORD } });
        expect(reply.status).toBe(200);
        expect(Object.keys(reply.body).sort()).toEqual([...TOKEN_RESPONSE_KEYS].sort());
        expect(reply.body.refreshToken).toBeUndefined();
        expect(reply.text).not.toContain(reply.cookies[0]!.value);
        expect(reply.body).toMatchObject({ tokenType: 'Bearer', serverTime: s.clock.now() });
        expect(reply.body.expiresIn).toBeGreaterThanOrEqual(599);
        expect(reply.body.expiresIn).toBeLessThanOrEqual(600);
        expect(reply.body.accessTokenExpiresAt).toBe(Math.floor((s.clock.now() + 600_000) / 1000) * 1000);
        expect(reply.body.session).toMatchObject({ device: { name: 'Unknown device', kind: 'other' }, current: true, createdAt: s.clock.now() });
        expect(reply.headers['cache-control']).toBe('no-store');

        const setCookie = String(reply.headers['set-cookie']);
        const attributes = setCookie.split(';').map((a) => a.trim());
        expect(attributes[0]).toMatch(new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{26}\\.[A-Za-z0-9_-]{43}$`));
        expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict', 'Max-Age=604800']));
        expect(setCookie).not.toMatch(/Domain=/i);
        expect(reply.body.refreshTokenExpiresAt).toBe(s.clock.now() + 7 * 86_400_000);
      });

      it('header transport: the refresh token in the body, no cookie', async () => {
        const s = await start();
        await s.user('alice');
        const reply = await s.call({
          method: 'POST',
          url: '/v1/auth/login',
          body: { username: 'alice', password: PASSWORD, transport: 'header', device: { name: 'Pixel 9', kind: 'mobile' } },
        });
        expect(reply.status).toBe(200);
        expect(Object.keys(reply.body).sort()).toEqual([...TOKEN_RESPONSE_KEYS, 'refreshToken'].sort());
        expect(reply.body.refreshToken).toMatch(/^[A-Za-z0-9_-]{26}\.[A-Za-z0-9_-]{43}$/);
        expect(reply.body.refreshToken.startsWith(reply.body.session.id)).toBe(true);
        expect(reply.headers['set-cookie']).toBeUndefined();
        expect(reply.body.session.device).toEqual({ name: 'Pixel 9', kind: 'mobile' });
      });

      it('unknown user and wrong password: same status and body', async () => {
        const s = await start();
        await s.user('alice');
        const wrong = await s.call({ method: 'POST', url: '/v1/auth/login', body: { username: 'alice', password: 'not the password', transport: 'header' } });
        const unknown = await s.call({ method: 'POST', url: '/v1/auth/login', body: { username: 'nobody', password: 'not the password', transport: 'header' } });
        expectError(wrong, 401, 'invalid_credentials');
        expect(unknown.status).toBe(wrong.status);
        expect(unknown.text).toBe(wrong.text);
        expect(unknown.headers['www-authenticate']).toBe(wrong.headers['www-authenticate']);
        expect(wrong.headers['cache-control']).toBe('no-store');
      });

      it('usernames are normalised (NFKC, lower case)', async () => {
        const s = await start();
        await s.user('Alice');
        await expect(login(s, 'ALICE')).resolves.toBeTruthy();
        await expect(login(s, 'Ａｌｉｃｅ')).resolves.toBeTruthy();
        const created = await s.call({ method: 'POST', url: '/v1/admin/users', token: ADMIN_KEY, body: { username: 'ＡＬＩＣＥ', password: PASSWORD } });
        expectError(created, 409, 'conflict');
      });

      it('records login.failed and session.created with the trace id of traceparent', async () => {
        const s = await start();
        await s.user('alice');
        await s.call({ method: 'POST', url: '/v1/auth/login', headers: { traceparent: TRACEPARENT }, body: { username: 'alice', password: 'nope nope nope', transport: 'header' } });
        await login(s, 'alice', { headers: { traceparent: TRACEPARENT, 'user-agent': 'Contract/1' } });
        const events = await s.call({ method: 'GET', url: '/v1/admin/events', token: ADMIN_KEY });
        expect(events.status).toBe(200);
        expect(events.body.events).toEqual([
          expect.objectContaining({ type: 'login.failed', reason: 'invalid_credentials', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }),
          expect.objectContaining({ type: 'session.created', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', userAgent: 'Contract/1', ip: '127.0.0.1' }),
        ]);
      });

      it('a device limit with onLimit reject answers 409 session_limit_reached', async () => {
        const s = await start({ policy: { maxSessionsPerUser: 1, onLimit: 'reject' } });
        await s.user('alice');
        await login(s, 'alice');
        const reply = await s.call({ method: 'POST', url: '/v1/auth/login', body: { username: 'alice', password: PASSWORD, transport: 'header' } });
        expectError(reply, 409, 'session_limit_reached');
      });
    });

    describe('CSRF defence of cookie requests (403 forbidden)', () => {
      async function cookieSession() {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice', { transport: 'cookie' });
        return { s, session };
      }

      it('a cookie login needs X-Tessera-CSRF, an allowed Origin and a JSON body', async () => {
        const s = await start();
        await s.user('alice');
        const body = { username: 'alice', password: PASSWORD };
        const missingHeader = await s.call({ method: 'POST', url: '/v1/auth/login', headers: { origin: APP_ORIGIN }, body });
        const foreignOrigin = await s.call({ method: 'POST', url: '/v1/auth/login', headers: { ...COOKIE_REQUEST_HEADERS, origin: 'https://evil.test' }, body });
        const noOrigin = await s.call({ method: 'POST', url: '/v1/auth/login', headers: { 'x-tessera-csrf': '1' }, body });
        const textPlain = await s.call({
          method: 'POST',
          url: '/v1/auth/login',
          headers: { ...COOKIE_REQUEST_HEADERS, 'content-type': 'text/plain' },
          raw: JSON.stringify(body),
        });
        const form = await s.call({
          method: 'POST',
          url: '/v1/auth/login',
          headers: { origin: 'https://evil.test', 'content-type': 'application/x-www-form-urlencoded' },
          raw: 'username=alice&password=x',
        });
        for (const reply of [missingHeader, foreignOrigin, noOrigin, textPlain, form]) {
          expectError(reply, 403, 'forbidden');
          expect(reply.headers['set-cookie']).toBeUndefined();
        }
        // The header transport sets no cookie, so it needs none of the proofs.
        const header = await s.call({ method: 'POST', url: '/v1/auth/login', body: { ...body, transport: 'header' } });
        expect(header.status).toBe(200);
      });

      it('refresh and logout with the cookie need the same proofs, and change nothing without them', async () => {
        const { s, session } = await cookieSession();
        const attempts: { headers: Record<string, string>; raw?: string }[] = [
          { headers: { 'content-type': 'application/json', origin: APP_ORIGIN } },
          { headers: { ...COOKIE_REQUEST_HEADERS, origin: 'https://evil.test' } },
          { headers: { 'content-type': 'application/json', 'x-tessera-csrf': '1' } },
          { headers: { ...COOKIE_REQUEST_HEADERS, 'x-tessera-csrf': 'yes' } },
          { headers: { ...COOKIE_REQUEST_HEADERS, 'content-type': 'text/plain' }, raw: '{}' },
        ];
        for (const url of ['/v1/auth/refresh', '/v1/auth/logout']) {
          for (const attempt of attempts) {
            const reply = await s.call({ method: 'POST', url, cookie: session.refreshToken, csrf: false, ...attempt });
            expectError(reply, 403, 'forbidden');
            expect(reply.headers['set-cookie']).toBeUndefined();
          }
        }
        // Nothing happened: the session is live and the cookie is still the current one.
        const refreshed = await s.call({ method: 'POST', url: '/v1/auth/refresh', cookie: session.refreshToken });
        expect(refreshed.status).toBe(200);
      });

      it('GET on a state-changing path does nothing (no such route)', async () => {
        const { s, session } = await cookieSession();
        for (const url of ['/v1/auth/logout', '/v1/auth/refresh', '/v1/auth/login', '/v1/sessions/revoke-others']) {
          const reply = await s.call({ method: 'GET', url, cookie: session.refreshToken });
          expectError(reply, 404, 'not_found');
          expect(reply.headers['set-cookie']).toBeUndefined();
        }
        const sessions = await s.call({ method: 'GET', url: '/v1/sessions', token: session.accessToken });
        expect(sessions.body.sessions).toHaveLength(1);
        expect((await s.call({ method: 'POST', url: '/v1/auth/refresh', cookie: session.refreshToken })).status).toBe(200);
      });

      it('CORS answers only allowed origins, with credentials, never *', async () => {
        const s = await start();
        const allowed = await s.call({
          method: 'OPTIONS',
          url: '/v1/auth/refresh',
          headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-tessera-csrf' },
        });
        expect(allowed.status).toBe(204);
        expect(allowed.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
        expect(allowed.headers['access-control-allow-credentials']).toBe('true');
        expect(String(allowed.headers['access-control-allow-headers']).toLowerCase()).toContain('x-tessera-csrf');
        const foreign = await s.call({ method: 'OPTIONS', url: '/v1/auth/refresh', headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' } });
        expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
        const simple = await s.call({ method: 'GET', url: '/.well-known/jwks.json', headers: { origin: 'https://evil.test' } });
        expect(simple.headers['access-control-allow-origin']).toBeUndefined();
        const own = await s.call({ method: 'GET', url: '/.well-known/jwks.json', headers: { origin: APP_ORIGIN } });
        expect(own.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
      });
    });

    describe('refresh', () => {
      it('cookie: rotates; the previous cookie within the grace window gets the same successor; later it is reuse and kills the session', async () => {
        const s = await start();
        await s.user('alice');
        const first = await login(s, 'alice', { transport: 'cookie' });
        s.clock.advance(1000);
        const a = await s.call({ method: 'POST', url: '/v1/auth/refresh', cookie: first.refreshToken });
        expect(a.status).toBe(200);
        expect(a.body.refreshToken).toBeUndefined();
        expect(a.headers['cache-control']).toBe('no-store');
        const second = a.cookies.find((c) => c.name === COOKIE)!.value;
        expect(second).not.toBe(first.refreshToken);
        expect(a.body.session).toMatchObject({ id: first.sid, lastSeenAt: s.clock.now(), idleExpiresAt: s.clock.now() + 7 * 86_400_000 });

        // A second tab presenting the same (previous) cookie a moment later converges on the same successor.
        s.clock.advance(2000);
        const b = await s.call({ method: 'POST', url: '/v1/auth/refresh', cookie: first.refreshToken });
        expect(b.status).toBe(200);
        expect(b.cookies.find((c) => c.name === COOKIE)!.value).toBe(second);

        // After the grace window the previous token is reuse: the session is revoked, its tokens die.
        s.clock.advance(10_000);
        const reuse = await s.call({ method: 'POST', url: '/v1/auth/refresh', cookie: first.refreshToken });
        expectError(reuse, 401, 'session_revoked');
        expect(String(reuse.headers['set-cookie'])).toMatch(/Max-Age=0/);
        expectError(await s.call({ method: 'POST', url: '/v1/auth/refresh', cookie: second }), 401, 'session_revoked');
        expectError(await s.call({ method: 'GET', url: '/v1/sessions', token: a.body.accessToken }), 401, 'session_revoked');
        const events = await s.call({ method: 'GET', url: '/v1/admin/events', token: ADMIN_KEY });
        expect(events.body.events.map((e: any) => e.type)).toContain('session.reuse_detected');
      });

      it('header: the refresh token in the body both ways; reuse of an older one revokes', async () => {
        const s = await start();
        await s.user('alice');
        const first = await login(s, 'alice');
        const a = await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: first.refreshToken } });
        expect(a.status).toBe(200);
        expect(a.body.refreshToken).toMatch(/^[A-Za-z0-9_-]{26}\.[A-Za-z0-9_-]{43}$/);
        expect(a.headers['set-cookie']).toBeUndefined();
        s.clock.advance(11_000);
        const b = await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: a.body.refreshToken } });
        expect(b.status).toBe(200);
        const reuse = await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: first.refreshToken } });
        expectError(reuse, 401, 'session_revoked');
        expectError(await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: b.body.refreshToken } }), 401, 'session_revoked');
      });

      it('bad, missing and unknown refresh tokens are 401 invalid_refresh_token and revoke nothing', async () => {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice');
        const forged = `${session.sid}.${'A'.repeat(43)}`;
        for (const body of [{ refreshToken: 'garbage' }, { refreshToken: forged }, {}, undefined]) {
          const reply = await s.call({ method: 'POST', url: '/v1/auth/refresh', ...(body === undefined ? {} : { body }) });
          expectError(reply, 401, 'invalid_refresh_token');
        }
        expect((await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: session.refreshToken } })).status).toBe(200);
      });

      it('an expired session cannot be refreshed: 401 session_expired', async () => {
        const s = await start({ policy: { idleTimeout: '1h', absoluteTimeout: '2h' } });
        await s.user('alice');
        const session = await login(s, 'alice');
        s.clock.advance(3_600_000);
        expectError(await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: session.refreshToken } }), 401, 'session_expired');
      });

      it('failed refreshes of one session are throttled: 429 rate_limited with Retry-After', async () => {
        const s = await start({ policy: { maxFailedRefreshesPerMinute: 3 } });
        await s.user('alice');
        const session = await login(s, 'alice');
        const forged = { refreshToken: `${session.sid}.${'B'.repeat(43)}` };
        for (let i = 0; i < 3; i++) expectError(await s.call({ method: 'POST', url: '/v1/auth/refresh', body: forged }), 401, 'invalid_refresh_token');
        const limited = await s.call({ method: 'POST', url: '/v1/auth/refresh', body: forged });
        expectError(limited, 429, 'rate_limited');
        expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      });
    });

    describe('logout', () => {
      it('cookie: 204, clears the cookie; replaying either token fails; logging out again is 204', async () => {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice', { transport: 'cookie' });
        const out = await s.call({ method: 'POST', url: '/v1/auth/logout', cookie: session.refreshToken });
        expect(out.status).toBe(204);
        expect(out.text).toBe('');
        expect(out.headers['cache-control']).toBe('no-store');
        const cleared = String(out.headers['set-cookie']);
        expect(cleared).toMatch(new RegExp(`^${COOKIE}=;`));
        expect(cleared).toMatch(/Max-Age=0/);
        expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970/);
        expect(cleared).toMatch(/Secure/);
        expect(cleared).toMatch(/HttpOnly/);

        expectError(await s.call({ method: 'POST', url: '/v1/auth/refresh', cookie: session.refreshToken }), 401, 'session_revoked');
        expectError(await s.call({ method: 'GET', url: '/v1/sessions', token: session.accessToken }), 401, 'session_revoked');
        expect((await s.call({ method: 'POST', url: '/v1/auth/logout', token: session.accessToken })).status).toBe(204);
        expect((await s.call({ method: 'POST', url: '/v1/auth/logout', cookie: session.refreshToken })).status).toBe(204);
      });

      it('header: by access token or by refresh token in the body', async () => {
        const s = await start();
        await s.user('alice');
        const a = await login(s, 'alice');
        const b = await login(s, 'alice');
        expect((await s.call({ method: 'POST', url: '/v1/auth/logout', token: a.accessToken })).status).toBe(204);
        expectError(await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: a.refreshToken } }), 401, 'session_revoked');
        expect((await s.call({ method: 'POST', url: '/v1/auth/logout', body: { refreshToken: b.refreshToken } })).status).toBe(204);
        expectError(await s.call({ method: 'GET', url: '/v1/sessions', token: b.accessToken }), 401, 'session_revoked');
        expect((await s.call({ method: 'POST', url: '/v1/auth/logout', body: { refreshToken: b.refreshToken } })).status).toBe(204);
      });

      it('needs a credential; a refresh token the session never issued logs nothing out', async () => {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice');
        expectError(await s.call({ method: 'POST', url: '/v1/auth/logout' }), 401, 'unauthorized');
        expectError(await s.call({ method: 'POST', url: '/v1/auth/logout', body: { refreshToken: `${session.sid}.${'C'.repeat(43)}` } }), 401, 'invalid_refresh_token');
        expectError(await s.call({ method: 'POST', url: '/v1/auth/logout', token: 'not.a.token' }), 401, 'invalid_token');
        expect((await s.call({ method: 'GET', url: '/v1/sessions', token: session.accessToken })).status).toBe(200);
      });
    });

    describe('sessions', () => {
      it('lists the caller’s sessions with current marked; deletes its own; 404 for any other id', async () => {
        const s = await start();
        await s.user('alice');
        await s.user('bob');
        const laptop = await login(s, 'alice', { device: { name: 'Laptop', kind: 'desktop' } });
        s.clock.advance(1000);
        const phone = await login(s, 'alice', { device: { name: 'Phone', kind: 'mobile' } });
        const bob = await login(s, 'bob');
        const list = await s.call({ method: 'GET', url: '/v1/sessions', token: laptop.accessToken });
        expect(list.status).toBe(200);
        expect(list.headers['cache-control']).toBe('no-store');
        expect(list.body.sessions.map((x: any) => [x.id, x.device.name, x.current])).toEqual([
          [phone.sid, 'Phone', false],
          [laptop.sid, 'Laptop', true],
        ]);
        expectError(await s.call({ method: 'DELETE', url: `/v1/sessions/${bob.sid}`, token: laptop.accessToken }), 404, 'not_found');
        expectError(await s.call({ method: 'DELETE', url: '/v1/sessions/no-such-session', token: laptop.accessToken }), 404, 'not_found');
        expect((await s.call({ method: 'GET', url: '/v1/sessions', token: bob.accessToken })).status).toBe(200);

        const deleted = await s.call({ method: 'DELETE', url: `/v1/sessions/${phone.sid}`, token: laptop.accessToken });
        expect(deleted.status).toBe(204);
        expectError(await s.call({ method: 'GET', url: '/v1/sessions', token: phone.accessToken }), 401, 'session_revoked');
        expect((await s.call({ method: 'GET', url: '/v1/sessions', token: laptop.accessToken })).body.sessions).toHaveLength(1);
        const revocations = await s.call({ method: 'GET', url: '/v1/admin/revocations', token: ADMIN_KEY });
        expect(revocations.body.revocations).toEqual([expect.objectContaining({ sid: phone.sid, reason: 'revoked' })]);
      });

      it('access tokens: missing 401 unauthorized, malformed 401 invalid_token, expired 401 token_expired', async () => {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice');
        const missing = await s.call({ method: 'GET', url: '/v1/sessions' });
        expectError(missing, 401, 'unauthorized');
        expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
        expectError(await s.call({ method: 'GET', url: '/v1/sessions', headers: { authorization: 'Basic YTpi' } }), 401, 'unauthorized');
        for (const bad of ['abc', 'a.b.c', `${session.accessToken}=`, session.accessToken.slice(0, -4) + 'AAAA']) {
          const reply = await s.call({ method: 'GET', url: '/v1/sessions', token: bad });
          expectError(reply, 401, 'invalid_token');
          expect(reply.headers['www-authenticate']).toMatch(/error="invalid_token"/);
        }
        s.clock.advance(10 * 60_000 + 31_000);
        expectError(await s.call({ method: 'GET', url: '/v1/sessions', token: session.accessToken }), 401, 'token_expired');
      });

      it('revoke-others needs the password and keeps the caller’s session', async () => {
        const s = await start();
        await s.user('alice');
        const me = await login(s, 'alice');
        const others = [await login(s, 'alice'), await login(s, 'alice', { transport: 'cookie' })];
        expectError(await s.call({ method: 'POST', url: '/v1/sessions/revoke-others', token: me.accessToken, body: { password: 'wrong password!' } }), 401, 'invalid_credentials');
        expectError(await s.call({ method: 'POST', url: '/v1/sessions/revoke-others', token: me.accessToken, body: {} }), 400, 'invalid_request');
        const reply = await s.call({ method: 'POST', url: '/v1/sessions/revoke-others', token: me.accessToken, body: { password: PASSWORD } });
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({ revoked: 2 });
        for (const other of others) expectError(await s.call({ method: 'GET', url: '/v1/sessions', token: other.accessToken }), 401, 'session_revoked');
        expect((await s.call({ method: 'GET', url: '/v1/sessions', token: me.accessToken })).body.sessions).toHaveLength(1);
      });

      it('revoke-others and password change are for built-in users: 403 for an admin-created session of an outside user', async () => {
        const s = await start();
        const created = await s.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'external-42' } });
        expectError(await s.call({ method: 'POST', url: '/v1/sessions/revoke-others', token: created.body.accessToken, body: { password: 'anything at all' } }), 403, 'forbidden');
        expectError(
          await s.call({ method: 'POST', url: '/v1/auth/password', token: created.body.accessToken, body: { currentPassword: 'x', newPassword: 'y'.repeat(12) } }),
          403,
          'forbidden',
        );
      });
    });

    describe('password change', () => {
      it('checks the current password and the policy; revokes the other sessions, keeps the caller’s', async () => {
        const s = await start();
        await s.user('alice');
        const me = await login(s, 'alice');
        const other = await login(s, 'alice');
        const newPassword = 'a much better passphrase';
        expectError(await s.call({ method: 'POST', url: '/v1/auth/password', token: me.accessToken, body: { currentPassword: 'wrong one', newPassword } }), 401, 'invalid_credentials');
        expectError(await s.call({ method: 'POST', url: '/v1/auth/password', token: me.accessToken, body: { currentPassword: PASSWORD, newPassword: 'short' } }), 400, 'invalid_request');
        expectError(await s.call({ method: 'POST', url: '/v1/auth/password', body: { currentPassword: PASSWORD, newPassword } }), 401, 'unauthorized');
        const changed = await s.call({ method: 'POST', url: '/v1/auth/password', token: me.accessToken, body: { currentPassword: PASSWORD, newPassword } });
        expect(changed.status).toBe(204);
        expect(changed.headers['cache-control']).toBe('no-store');
        expect((await s.call({ method: 'GET', url: '/v1/sessions', token: me.accessToken })).status).toBe(200);
        expectError(await s.call({ method: 'GET', url: '/v1/sessions', token: other.accessToken }), 401, 'session_revoked');
        expectError(await s.call({ method: 'POST', url: '/v1/auth/login', body: { username: 'alice', password: PASSWORD, transport: 'header' } }), 401, 'invalid_credentials');
        await expect(login(s, 'alice', { password: newPassword })).resolves.toBeTruthy();
        const revocations = await s.call({ method: 'GET', url: '/v1/admin/revocations', token: ADMIN_KEY });
        expect(revocations.body.revocations).toEqual([expect.objectContaining({ sid: other.sid, reason: 'password_changed' })]);
      });

      it('revokeOtherSessions: false leaves the other sessions alone', async () => {
        const s = await start();
        await s.user('alice');
        const me = await login(s, 'alice');
        const other = await login(s, 'alice');
        const changed = await s.call({
          method: 'POST',
          url: '/v1/auth/password',
          token: me.accessToken,
          body: { currentPassword: PASSWORD, newPassword: 'another good passphrase', revokeOtherSessions: false },
        });
        expect(changed.status).toBe(204);
        expect((await s.call({ method: 'GET', url: '/v1/sessions', token: other.accessToken })).status).toBe(200);
      });
    });

    describe('push: GET /v1/events', () => {
      it('authenticates with the first message, then pushes session.revoked and closes with 4001 on logout', async () => {
        const s = await start();
        await s.user('alice');
        const base = await s.listen();
        const session = await login(s, 'alice');
        const events = await openEvents(base, session.accessToken);
        expect(await events.next('ready')).toMatchObject({ sessionId: session.sid });
        expect((await s.call({ method: 'POST', url: '/v1/auth/logout', token: session.accessToken })).status).toBe(204);
        const notice = await events.next('session.revoked');
        expect(notice).toMatchObject({ type: 'session.revoked', sessionId: session.sid, reason: 'logout', at: s.clock.now() });
        expect(Object.keys(notice).sort()).toEqual(['at', 'reason', 'receivedAt', 'sessionId', 'type']);
        expect(await events.closed).toMatchObject({ code: 4001, reason: 'logout' });
      });

      it('the device limit over HTTP: the evicted device’s socket is told (evicted) and closed with 4001', async () => {
        const s = await start({ policy: { maxSessionsPerUser: 2 } });
        await s.user('alice');
        const base = await s.listen();
        const oldest = await login(s, 'alice', { device: { name: 'Old laptop', kind: 'desktop' } });
        s.clock.advance(1000);
        const middle = await login(s, 'alice');
        const oldSocket = await openEvents(base, oldest.accessToken);
        const middleSocket = await openEvents(base, middle.accessToken);
        await oldSocket.next('ready');
        await middleSocket.next('ready');
        s.clock.advance(1000);
        await login(s, 'alice');
        expect(await oldSocket.next('session.revoked')).toMatchObject({ sessionId: oldest.sid, reason: 'evicted' });
        expect(await oldSocket.closed).toMatchObject({ code: 4001, reason: 'evicted' });
        expectError(await s.call({ method: 'GET', url: '/v1/sessions', token: oldest.accessToken }), 401, 'session_revoked');
        const list = await s.call({ method: 'GET', url: '/v1/sessions', token: middle.accessToken });
        expect(list.body.sessions).toHaveLength(2);
        await sleep(50);
        expect(middleSocket.messages.map((m) => m.type)).toEqual(['ready']);
        middleSocket.socket.close();
      });

      it('closes with 4401 on a bad token, a wrong first message, or no message in time', async () => {
        const s = await start();
        await s.user('alice');
        const base = await s.listen();
        const session = await login(s, 'alice');
        const bad = await openEvents(base, 'not-a-token');
        expect((await bad.closed).code).toBe(4401);
        const wrongShape = await openEvents(base, null, JSON.stringify({ type: 'hello', accessToken: session.accessToken }));
        expect((await wrongShape.closed).code).toBe(4401);
        const notJson = await openEvents(base, null, 'hello');
        expect((await notJson.closed).code).toBe(4401);
        const silent = await openEvents(base, null);
        expect(await silent.closed).toMatchObject({ code: 4401, reason: 'authentication timeout' });
        await s.call({ method: 'POST', url: '/v1/auth/logout', token: session.accessToken });
        const revoked = await openEvents(base, session.accessToken);
        expect(await revoked.closed).toMatchObject({ code: 4401, reason: 'session_revoked' });
      });

      it('an admin revocation and revoke-others reach the sockets too', async () => {
        const s = await start();
        await s.user('alice');
        const base = await s.listen();
        const me = await login(s, 'alice');
        const a = await login(s, 'alice');
        const b = await login(s, 'alice');
        const socketA = await openEvents(base, a.accessToken);
        const socketB = await openEvents(base, b.accessToken);
        await socketA.next('ready');
        await socketB.next('ready');
        await s.call({ method: 'DELETE', url: `/v1/admin/sessions/${a.sid}`, token: ADMIN_KEY });
        expect(await socketA.next('session.revoked')).toMatchObject({ reason: 'admin' });
        await s.call({ method: 'POST', url: '/v1/sessions/revoke-others', token: me.accessToken, body: { password: PASSWORD } });
        expect(await socketB.next('session.revoked')).toMatchObject({ reason: 'revoked' });
        expect((await socketB.closed).code).toBe(4001);
      });
    });

    describe('login throttling', () => {
      it('per account: 429 rate_limited with Retry-After, other accounts unaffected, across the window', async () => {
        const s = await start({ loginLimits: { perAccount: 3, perAddress: 1000, window: 60_000 } });
        await s.user('alice');
        await s.user('bob');
        const attempt = (username: string, password = 'wrong password') =>
          s.call({ method: 'POST', url: '/v1/auth/login', body: { username, password, transport: 'header' } });
        for (let i = 0; i < 3; i++) expectError(await attempt('alice'), 401, 'invalid_credentials');
        const limited = await attempt('alice', PASSWORD);
        expectError(limited, 429, 'rate_limited');
        expect(limited.headers['retry-after']).toBe('60');
        expect((await attempt('bob', PASSWORD)).status).toBe(200);
        // The same limit for an account that does not exist: throttling does not reveal existence.
        for (let i = 0; i < 3; i++) expectError(await attempt('nobody'), 401, 'invalid_credentials');
        expectError(await attempt('nobody'), 429, 'rate_limited');
        s.clock.advance(60_000);
        expect((await attempt('alice', PASSWORD)).status).toBe(200);
        const events = await s.call({ method: 'GET', url: '/v1/admin/events?limit=1000', token: ADMIN_KEY });
        expect(events.body.events.filter((e: any) => e.reason === 'rate_limited')).toHaveLength(2);
      });

      it('per client address, whatever the usernames', async () => {
        const s = await start({ loginLimits: { perAccount: 1000, perAddress: 4, window: 60_000 } });
        await s.user('alice');
        for (let i = 0; i < 4; i++) {
          expectError(await s.call({ method: 'POST', url: '/v1/auth/login', body: { username: `user${i}`, password: 'guess guess', transport: 'header' } }), 401, 'invalid_credentials');
        }
        const limited = await s.call({ method: 'POST', url: '/v1/auth/login', body: { username: 'alice', password: PASSWORD, transport: 'header' } });
        expectError(limited, 429, 'rate_limited');
        expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      });

      it('password checks of revoke-others are throttled per account too', async () => {
        const s = await start({ loginLimits: { perAccount: 2, perAddress: 1000, window: 60_000 } });
        await s.user('alice');
        const me = await login(s, 'alice');
        const me2 = await login(s, 'alice');
        const guess = () => s.call({ method: 'POST', url: '/v1/sessions/revoke-others', token: me.accessToken, body: { password: 'guess guess' } });
        // The two logins counted against the account already (every attempt counts).
        expectError(await guess(), 429, 'rate_limited');
        expect((await s.call({ method: 'GET', url: '/v1/sessions', token: me2.accessToken })).status).toBe(200);
      });
    });

    describe('bad input: always a 4xx with a code, never a 500', () => {
      it('malformed JSON, wrong types, unknown fields, missing fields, empty bodies', async () => {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice');
        const cases: { url: string; raw?: string; body?: unknown; token?: string; method?: 'POST' | 'DELETE' | 'GET' }[] = [
          { url: '/v1/auth/login', raw: '{"username": "alice", "password": ' },
          { url: '/v1/auth/login', raw: '' },
          { url: '/v1/auth/login', raw: 'null' },
          { url: '/v1/auth/login', raw: '[]' },
          { url: '/v1/auth/login', raw: '"alice"' },
          { url: '/v1/auth/login', raw: '{"username":"alice","password":"x","__proto__":{"admin":true}}' },
          { url: '/v1/auth/login', raw: '{"username":"alice","password":"x","constructor":{"prototype":{"admin":true}}}' },
          { url: '/v1/auth/login', body: { username: 'alice', password: 12345678901234, transport: 'header' } },
          { url: '/v1/auth/login', body: { username: ['alice'], password: PASSWORD, transport: 'header' } },
          { url: '/v1/auth/login', body: { username: 'alice', password: PASSWORD, transport: 'carrier-pigeon' } },
          { url: '/v1/auth/login', body: { username: 'alice', password: PASSWORD, transport: 'header', admin: true } },
          { url: '/v1/auth/login', body: { username: 'alice', password: PASSWORD, transport: 'header', device: { name: 'x', kind: 'toaster' } } },
          { url: '/v1/auth/login', body: { username: 'alice', password: PASSWORD, transport: 'header', device: { name: 'x', os: 'linux' } } },
          { url: '/v1/auth/login', body: { username: 'alice', password: PASSWORD, transport: 'header', device: 'laptop' } },
          { url: '/v1/auth/login', body: { username: 'a'.repeat(257), password: PASSWORD, transport: 'header' } },
          { url: '/v1/auth/login', body: { username: 'alice', transport: 'header' } },
          { url: '/v1/auth/login', body: { username: '', password: PASSWORD, transport: 'header' } },
          { url: '/v1/auth/refresh', body: { refreshToken: 42 } },
          { url: '/v1/auth/refresh', body: { refreshToken: session.refreshToken, extra: 1 } },
          { url: '/v1/auth/refresh', raw: '[1,2]' },
          { url: '/v1/auth/logout', body: { refreshToken: null } },
          { url: '/v1/auth/password', token: session.accessToken, body: { currentPassword: PASSWORD, newPassword: 'abcdefghijklmnop', revokeOtherSessions: 'yes' } },
          { url: '/v1/auth/password', token: session.accessToken, body: { currentPassword: PASSWORD, newPassword: 'abcdefghijklmnop', logoutEverywhere: true } },
          { url: '/v1/sessions/revoke-others', token: session.accessToken, body: { password: PASSWORD, keep: [] } },
          { url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 42 } },
          { url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'u1', claims: { sub: 'someone-else' } } },
          { url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'u1', claims: { big: 'x'.repeat(5000) } } },
          { url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'u1', claims: ['a'] } },
          { url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'u1\u0000' } },
          { url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'u1', role: 'admin' } },
          { url: '/v1/admin/introspect', token: ADMIN_KEY, body: { token: 7 } },
          { url: '/v1/admin/introspect', token: ADMIN_KEY, body: {} },
          { url: '/v1/admin/users', token: ADMIN_KEY, body: { username: 'bob', password: 'short' } },
          { url: '/v1/admin/users', token: ADMIN_KEY, body: { username: 'has space', password: PASSWORD } },
          { url: '/v1/admin/users', token: ADMIN_KEY, body: { username: 'bob', password: PASSWORD, admin: true } },
          { method: 'GET', url: '/v1/admin/events?limit=0', token: ADMIN_KEY },
          { method: 'GET', url: '/v1/admin/events?limit=-1', token: ADMIN_KEY },
          { method: 'GET', url: '/v1/admin/events?after=%00', token: ADMIN_KEY },
          { method: 'GET', url: '/v1/admin/events?colour=blue', token: ADMIN_KEY },
          { method: 'GET', url: '/v1/admin/revocations?after=yesterday', token: ADMIN_KEY },
        ];
        for (const c of cases) {
          const reply = await s.call({
            method: c.method ?? 'POST',
            url: c.url,
            headers: { 'content-type': 'application/json' },
            ...(c.raw !== undefined ? { raw: c.raw } : {}),
            ...(c.body !== undefined ? { body: c.body } : {}),
            ...(c.token !== undefined ? { token: c.token } : {}),
          });
          const label = `${c.method ?? 'POST'} ${c.url} ${c.raw ?? JSON.stringify(c.body)?.slice(0, 80)}`;
          expect({ label, status: reply.status, code: reply.body?.error?.code }).toEqual({ label, status: 400, code: 'invalid_request' });
        }
      });

      it('oversized bodies: 413 payload_too_large', async () => {
        const s = await start();
        const reply = await s.call({
          method: 'POST',
          url: '/v1/auth/login',
          headers: { 'content-type': 'application/json' },
          raw: JSON.stringify({ username: 'alice', password: 'x'.repeat(100_000), transport: 'header' }),
        });
        expectError(reply, 413, 'payload_too_large');
        const admin = await s.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'u', claims: { x: 'y'.repeat(50_000) } } });
        expectError(admin, 413, 'payload_too_large');
      });

      it('unsupported media types: 415 (header transport), 403 (cookie requests)', async () => {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice');
        const xml = await s.call({ method: 'POST', url: '/v1/auth/refresh', headers: { 'content-type': 'application/xml' }, raw: '<refreshToken/>' });
        expectError(xml, 415, 'unsupported_media_type');
        const text = await s.call({ method: 'POST', url: '/v1/auth/logout', headers: { 'content-type': 'text/plain' }, raw: session.refreshToken });
        expectError(text, 415, 'unsupported_media_type');
        const admin = await s.call({ method: 'POST', url: '/v1/admin/users', token: ADMIN_KEY, headers: { 'content-type': 'text/plain' }, raw: 'bob' });
        expectError(admin, 415, 'unsupported_media_type');
      });

      it('oversized headers over a real socket: 431 with a contract body', async () => {
        const s = await start();
        const base = await s.listen();
        const reply = await rawHttp(base, '/v1/sessions', { authorization: `Bearer ${'a'.repeat(20_000)}` });
        expect(reply.status).toBe(431);
        expect(JSON.parse(reply.body)).toEqual({ error: { code: 'invalid_request', message: 'the request headers are too large' } });
        const cookie = await rawHttp(base, '/v1/auth/refresh', { cookie: `${COOKIE}=${'b'.repeat(20_000)}` }, 'POST');
        expect(cookie.status).toBe(431);
        // The server is fine afterwards.
        expect((await rawHttp(base, '/healthz', {})).status).toBe(200);
      });

      it('access tokens in odd places: long, padded, whitespace — 401 invalid_token, never 500', async () => {
        const s = await start();
        for (const token of ['x'.repeat(9000), 'a.b.c=', 'a. b.c', '...', '\u00e9.\u00e9.\u00e9']) {
          const reply = await s.call({ method: 'GET', url: '/v1/sessions', headers: { authorization: `Bearer ${token}` } });
          expect(reply.status).toBe(401);
          expect(['invalid_token', 'unauthorized']).toContain(reply.body.error.code);
        }
        const unknown = await s.call({ method: 'GET', url: '/v1/nope' });
        expectError(unknown, 404, 'not_found');
        const wrongMethod = await s.call({ method: 'PUT', url: '/v1/sessions' });
        expectError(wrongMethod, 404, 'not_found');
        const notUpgraded = await s.call({ method: 'GET', url: '/v1/events' });
        expectError(notUpgraded, 400, 'invalid_request');
        expect(notUpgraded.headers.upgrade).toBe('websocket');
      });
    });

    describe('admin API', () => {
      it('401 without or with a wrong key; absent (404) when no key is configured', async () => {
        const s = await start();
        const routes: [CallMethod, string][] = [
          ['POST', '/v1/admin/sessions'],
          ['GET', '/v1/admin/users/u1/sessions'],
          ['DELETE', '/v1/admin/sessions/abc'],
          ['DELETE', '/v1/admin/users/u1/sessions'],
          ['POST', '/v1/admin/introspect'],
          ['GET', '/v1/admin/events'],
          ['POST', '/v1/admin/users'],
          ['GET', '/v1/admin/users/u1'],
          ['GET', '/v1/admin/keys'],
          ['GET', '/v1/admin/revocations'],
          ['GET', '/v1/admin/revocations/stream'],
        ];
        for (const [method, url] of routes) {
          const body = method === 'POST' ? {} : undefined;
          const none = await s.call({ method, url, ...(body ? { body } : {}) });
          expectError(none, 401, 'unauthorized');
          expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
          expectError(await s.call({ method, url, token: `${ADMIN_KEY}x`, ...(body ? { body } : {}) }), 401, 'unauthorized');
          expectError(await s.call({ method, url, token: ADMIN_KEY.slice(0, -1), ...(body ? { body } : {}) }), 401, 'unauthorized');
        }
        const off = await start({ adminKey: null });
        for (const [method, url] of routes) {
          expectError(await off.call({ method, url, token: ADMIN_KEY, ...(method === 'POST' ? { body: {} } : {}) }), 404, 'not_found');
        }
        const spec = await off.call({ method: 'GET', url: '/openapi.json' });
        expect(Object.keys(spec.body.paths).some((p) => p.startsWith('/v1/admin'))).toBe(false);
      });

      it('creates sessions for outside users (header transport by default), lists and revokes them', async () => {
        const s = await start();
        const created = await s.call({
          method: 'POST',
          url: '/v1/admin/sessions',
          token: ADMIN_KEY,
          headers: { traceparent: TRACEPARENT },
          body: { userId: 'external-7', device: { name: 'Kiosk', kind: 'tv' }, claims: { role: 'editor', tenant: 't1' } },
        });
        expect(created.status).toBe(201);
        expect(created.headers['cache-control']).toBe('no-store');
        expect(created.body.refreshToken).toMatch(/^[A-Za-z0-9_-]{26}\./);
        expect(created.headers['set-cookie']).toBeUndefined();
        const payload = JSON.parse(Buffer.from(created.body.accessToken.split('.')[1], 'base64url').toString());
        expect(payload).toMatchObject({ sub: 'external-7', role: 'editor', tenant: 't1', iss: 'https://tessera.test', aud: 'tessera-tests' });

        const cookieCreated = await s.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'external-7', transport: 'cookie' } });
        expect(cookieCreated.body.refreshToken).toBeUndefined();
        expect(String(cookieCreated.headers['set-cookie'])).toMatch(new RegExp(`^${COOKIE}=`));

        const list = await s.call({ method: 'GET', url: '/v1/admin/users/external-7/sessions', token: ADMIN_KEY });
        expect(list.status).toBe(200);
        expect(list.body.sessions).toHaveLength(2);
        expect(list.body.sessions.every((x: any) => x.current === false)).toBe(true);

        expect((await s.call({ method: 'DELETE', url: `/v1/admin/sessions/${created.body.session.id}`, token: ADMIN_KEY })).status).toBe(204);
        expect((await s.call({ method: 'DELETE', url: `/v1/admin/sessions/${created.body.session.id}`, token: ADMIN_KEY })).status).toBe(204);
        expectError(await s.call({ method: 'DELETE', url: '/v1/admin/sessions/AAAAAAAAAAAAAAAAAAAAAAAAAA', token: ADMIN_KEY }), 404, 'not_found');
        expectError(await s.call({ method: 'GET', url: '/v1/sessions', token: created.body.accessToken }), 401, 'session_revoked');

        await s.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'external-7' } });
        const all = await s.call({ method: 'DELETE', url: '/v1/admin/users/external-7/sessions', token: ADMIN_KEY });
        expect(all.body).toEqual({ revoked: 2 });
        expect((await s.call({ method: 'DELETE', url: '/v1/admin/users/external-7/sessions', token: ADMIN_KEY })).body).toEqual({ revoked: 0 });
        expect((await s.call({ method: 'GET', url: '/v1/admin/users/external-7/sessions', token: ADMIN_KEY })).body).toEqual({ sessions: [] });

        const revocations = await s.call({ method: 'GET', url: '/v1/admin/revocations', token: ADMIN_KEY });
        expect(revocations.body.now).toBe(s.clock.now());
        expect(revocations.body.revocations).toHaveLength(3);
        expect(revocations.body.revocations.every((r: any) => r.reason === 'admin' && r.userId === 'external-7')).toBe(true);
        const later = await s.call({ method: 'GET', url: `/v1/admin/revocations?after=${s.clock.now() + 1}`, token: ADMIN_KEY });
        expect(later.body.revocations).toEqual([]);
      });

      it('introspection: the claims of an active token, exactly {"active":false} for anything inactive', async () => {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice');
        const active = await s.call({ method: 'POST', url: '/v1/admin/introspect', token: ADMIN_KEY, body: { token: session.accessToken } });
        expect(active.status).toBe(200);
        expect(active.body).toMatchObject({ active: true, token_type: 'access_token', sid: session.sid, iss: 'https://tessera.test', aud: 'tessera-tests' });
        expect(typeof active.body.exp).toBe('number');
        const refresh = await s.call({ method: 'POST', url: '/v1/admin/introspect', token: ADMIN_KEY, body: { token: session.refreshToken } });
        expect(refresh.body).toMatchObject({ active: true, token_type: 'refresh_token', sid: session.sid });

        const forged = session.accessToken.slice(0, -4) + (session.accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA');
        const inactive = [forged, 'garbage', 'a.b.c', `${session.sid}.${'D'.repeat(43)}`];
        await s.call({ method: 'POST', url: '/v1/auth/logout', token: session.accessToken });
        inactive.push(session.accessToken, session.refreshToken);
        for (const token of inactive) {
          const reply = await s.call({ method: 'POST', url: '/v1/admin/introspect', token: ADMIN_KEY, body: { token } });
          expect(reply.status).toBe(200);
          expect(reply.text).toBe('{"active":false}');
        }
      });

      it('creates built-in users (201), refuses duplicates (409 conflict); they can sign in', async () => {
        const s = await start();
        const created = await s.call({ method: 'POST', url: '/v1/admin/users', token: ADMIN_KEY, body: { username: 'Carol', password: PASSWORD } });
        expect(created.status).toBe(201);
        expect(created.body).toEqual({ id: expect.stringMatching(/^usr_/), username: 'carol', createdAt: s.clock.now() });
        expect(created.text).not.toContain('scrypt');
        expectError(await s.call({ method: 'POST', url: '/v1/admin/users', token: ADMIN_KEY, body: { username: 'carol', password: PASSWORD } }), 409, 'conflict');
        const session = await login(s, 'carol');
        expect(session.body.session.id).toBe(session.sid);
        const stored = await s.store.getUserByUsername('carol');
        expect(stored!.passwordHash).toMatch(/^\$scrypt\$ln=\d+,r=8,p=1\$/);
      });

      it('looks a built-in user up by username (normalised) or else by id; 404 not_found; never the password hash', async () => {
        const s = await start();
        const id = await s.user('Carol');
        const carol = { id, username: 'carol', createdAt: s.clock.now() };
        for (const key of ['carol', 'CAROL', encodeURIComponent('ＣＡＲＯＬ'), encodeURIComponent(id)]) {
          const found = await s.call({ method: 'GET', url: `/v1/admin/users/${key}`, token: ADMIN_KEY });
          expect({ key, status: found.status }).toEqual({ key, status: 200 });
          expect(found.body).toEqual(carol);
          expect(Object.keys(found.body)).toEqual(['id', 'username', 'createdAt']);
          expect(found.headers['cache-control']).toBe('no-store');
          expect(found.text).not.toMatch(/scrypt|passwordHash/);
        }
        // Ids are exact (not case-folded); a text that cannot be a username is only tried as an id.
        for (const key of ['nobody', 'usr_nobody', encodeURIComponent('car ol'), ...(id.toLowerCase() === id ? [] : [id.toLowerCase()])]) {
          expectError(await s.call({ method: 'GET', url: `/v1/admin/users/${key}`, token: ADMIN_KEY }), 404, 'not_found');
        }

        // The username wins over the id: "zed" is the user named zed, not the user whose id is "zed".
        const now = s.clock.now();
        await s.store.createUser({ id: 'zed', username: 'yan', passwordHash: '$scrypt$ln=10,r=8,p=1$c2FsdA$a2V5', createdAt: now, updatedAt: now });
        const zedId = await s.user('zed');
        expect((await s.call({ method: 'GET', url: '/v1/admin/users/zed', token: ADMIN_KEY })).body).toEqual({ id: zedId, username: 'zed', createdAt: now });
        expect((await s.call({ method: 'GET', url: '/v1/admin/users/yan', token: ADMIN_KEY })).body).toEqual({ id: 'zed', username: 'yan', createdAt: now });
      });

      it('keys: the times of every key (published, signs from, retires, leaves JWKS), newest first, never a key part', async () => {
        const s = await start();
        const first = await s.call({ method: 'GET', url: '/v1/admin/keys', token: ADMIN_KEY });
        expect(first.status).toBe(200);
        expect(first.headers['cache-control']).toBe('no-store');
        expect(first.body.now).toBe(s.clock.now());
        expect(first.body.keys).toHaveLength(1);
        const [only] = first.body.keys;
        expect(Object.keys(only)).toEqual(['kid', 'createdAt', 'activatesAt', 'retiresAt', 'expiresAt']);
        expect(only).toMatchObject({ retiresAt: null, expiresAt: null });
        expect(only.activatesAt).toBeLessThanOrEqual(first.body.now);

        // A rotation publishes the next key at once; it signs after the publish lead, and the old key
        // retires then and leaves JWKS once every token it signed has expired.
        const nextKid = await s.engine.rotateKeys();
        const rotatedAt = s.clock.now();
        const rotated = await s.call({ method: 'GET', url: '/v1/admin/keys', token: ADMIN_KEY });
        const [next, old] = rotated.body.keys;
        expect(rotated.body.keys).toHaveLength(2);
        expect(next).toEqual({ kid: nextKid, createdAt: rotatedAt, activatesAt: rotatedAt + 10 * 60_000, retiresAt: null, expiresAt: null });
        expect(old).toEqual({ ...only, retiresAt: next.activatesAt, expiresAt: expect.any(Number) });
        expect(old.expiresAt).toBeGreaterThan(old.retiresAt);
        const jwks = await s.call({ method: 'GET', url: '/.well-known/jwks.json' });
        expect(jwks.body.keys.map((k: any) => k.kid).sort()).toEqual([next.kid, old.kid].sort());

        // Which one signs: the newest with activatesAt ≤ now < retiresAt, as the tokens' headers say.
        const signer = (body: any) => body.keys.find((k: any) => k.activatesAt <= body.now && (k.retiresAt === null || body.now < k.retiresAt))?.kid;
        const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid;
        await s.user('alice');
        expect(signer(rotated.body)).toBe(old.kid);
        expect(kidOf((await login(s, 'alice')).accessToken)).toBe(old.kid);
        s.clock.advance(10 * 60_000);
        const later = await s.call({ method: 'GET', url: '/v1/admin/keys', token: ADMIN_KEY });
        expect(later.body.now).toBe(s.clock.now());
        expect(signer(later.body)).toBe(next.kid);
        expect(kidOf((await login(s, 'alice')).accessToken)).toBe(next.kid);

        // No key material: neither the public x nor, above all, the private d.
        for (const stored of await s.store.listKeys()) {
          expect(later.text).not.toContain(String(stored.privateJwk.d));
          expect(later.text).not.toContain(String(stored.publicJwk.x));
        }
        expect(later.text).not.toMatch(/"(d|x|privateJwk|publicJwk)"/);
      });

      it('events: cursor and limit', async () => {
        const s = await start();
        for (let i = 0; i < 5; i++) await s.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: `u${i}` } });
        const first = await s.call({ method: 'GET', url: '/v1/admin/events?limit=2', token: ADMIN_KEY });
        expect(first.body.events).toHaveLength(2);
        const rest = await s.call({ method: 'GET', url: `/v1/admin/events?after=${encodeURIComponent(first.body.events[1].id)}&limit=10`, token: ADMIN_KEY });
        expect(rest.body.events.map((e: any) => e.userId)).toEqual(['u2', 'u3', 'u4']);
      });

      it('revocation stream (SSE): back-fill, live revocations, heartbeats', async () => {
        const s = await start();
        const base = await s.listen();
        const early = await s.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'u1' } });
        await s.call({ method: 'DELETE', url: `/v1/admin/sessions/${early.body.session.id}`, token: ADMIN_KEY });
        const stream = await openSse(`${base}/v1/admin/revocations/stream`, { authorization: `Bearer ${ADMIN_KEY}` });
        cleanups.push(() => stream.close());
        expect(stream.status).toBe(200);
        expect(String(stream.headers['content-type'])).toMatch(/^text\/event-stream/);
        expect(stream.headers['cache-control']).toBe('no-store');
        expect(await stream.next('revoked')).toMatchObject({ sid: early.body.session.id, reason: 'admin', userId: 'u1' });
        await stream.next('ready');
        const live = await s.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'u2' } });
        await s.call({ method: 'POST', url: '/v1/auth/logout', token: live.body.accessToken });
        expect(await stream.next('revoked', (d) => d.sid === live.body.session.id)).toMatchObject({ reason: 'logout', userId: 'u2' });
        expect(await stream.next('heartbeat')).toHaveProperty('now');
        const ids = stream.events.filter((e) => e.event === 'revoked').map((e) => e.id);
        expect(ids.every((id) => /^\d+$/.test(id!))).toBe(true);

        // Reconnecting with Last-Event-ID back-fills only what came after it.
        const resumed = await openSse(`${base}/v1/admin/revocations/stream`, { authorization: `Bearer ${ADMIN_KEY}`, 'last-event-id': String(s.clock.now() + 1) });
        cleanups.push(() => resumed.close());
        await resumed.next('ready');
        expect(resumed.events.filter((e) => e.event === 'revoked')).toEqual([]);
      });
    });

    describe('verifiers, operations, documents', () => {
      it('JWKS: the key that signed our tokens, Ed25519/EdDSA, cacheable', async () => {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice');
        const jwks = await s.call({ method: 'GET', url: '/.well-known/jwks.json' });
        expect(jwks.status).toBe(200);
        expect(jwks.headers['cache-control']).toBe('public, max-age=300');
        const header = JSON.parse(Buffer.from(session.accessToken.split('.')[0]!, 'base64url').toString());
        expect(header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: expect.any(String) });
        expect(jwks.body.keys).toContainEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: header.kid, alg: 'EdDSA', use: 'sig' });
        expect(jwks.text).not.toMatch(/"d"/);
      });

      it('/healthz, /readyz and /metrics', async () => {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice');
        await s.call({ method: 'POST', url: '/v1/auth/login', body: { username: 'alice', password: 'not it at all', transport: 'header' } });
        await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: session.refreshToken } });
        await s.call({ method: 'GET', url: '/v1/sessions', token: 'a.b.c' });
        await s.call({ method: 'POST', url: '/v1/auth/logout', token: session.accessToken });
        await s.engine.flushEvents();

        const health = await s.call({ method: 'GET', url: '/healthz' });
        expect(health.status).toBe(200);
        expect(health.body).toMatchObject({ status: 'ok', eventLoopDelayMs: { p50: expect.any(Number), p99: expect.any(Number) }, memory: { rss: expect.any(Number) } });
        const ready = await s.call({ method: 'GET', url: '/readyz' });
        expect(ready.status).toBe(200);
        expect(ready.body).toMatchObject({ status: 'ready', store: expect.any(String), feed: { healthy: true } });

        const metrics = await s.call({ method: 'GET', url: '/metrics' });
        expect(metrics.status).toBe(200);
        expect(String(metrics.headers['content-type'])).toMatch(/^text\/plain/);
        const text = metrics.text;
        expect(text).toMatch(/^tessera_sessions_created_total 1$/m);
        expect(text).toMatch(/^tessera_sessions_refreshed_total 1$/m);
        expect(text).toMatch(/^tessera_sessions_revoked_total\{reason="logout"\} 1$/m);
        expect(text).toMatch(/^tessera_refresh_reuse_detected_total 0$/m);
        expect(text).toMatch(/^tessera_login_failures_total\{reason="invalid_credentials"\} 1$/m);
        expect(text).toMatch(/^tessera_access_token_verifications_total\{outcome="invalid_token"\} 1$/m);
        expect(text).toMatch(/^tessera_access_token_verifications_total\{outcome="ok"\} 1$/m);
        expect(text).toMatch(/^tessera_store_operation_duration_seconds_count\{operation="createSession",outcome="ok"\} 1$/m);
        expect(text).toMatch(/^tessera_revocation_feed_silence_seconds \d/m);
        expect(text).toMatch(/^tessera_http_request_duration_seconds_count\{method="POST",route="\/v1\/auth\/login",status="200"\} 1$/m);
      });

      it('a store that stops answering: 503 store_unavailable, never a 500; /readyz says so', async () => {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice');
        await s.store.close();
        const ready = await s.call({ method: 'GET', url: '/readyz' });
        expectError(ready, 503, 'store_unavailable');
        expectError(await s.call({ method: 'POST', url: '/v1/auth/login', body: { username: 'alice', password: PASSWORD, transport: 'header' } }), 503, 'store_unavailable');
        expectError(await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: session.refreshToken } }), 503, 'store_unavailable');
        expectError(await s.call({ method: 'GET', url: '/v1/sessions', token: session.accessToken }), 503, 'store_unavailable');
        expectError(await s.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'u1' } }), 503, 'store_unavailable');
        expect((await s.call({ method: 'GET', url: '/healthz' })).status).toBe(200);
      });

      it('/openapi.json is generated from the route schemas', async () => {
        const s = await start();
        const spec = await s.call({ method: 'GET', url: '/openapi.json' });
        expect(spec.status).toBe(200);
        expect(spec.body.openapi).toMatch(/^3\./);
        const paths = Object.keys(spec.body.paths);
        for (const p of [
          '/v1/auth/login',
          '/v1/auth/refresh',
          '/v1/auth/logout',
          '/v1/auth/password',
          '/v1/sessions',
          '/v1/sessions/{id}',
          '/v1/sessions/revoke-others',
          '/v1/events',
          '/.well-known/jwks.json',
          '/healthz',
          '/readyz',
          '/metrics',
          '/v1/admin/sessions',
          '/v1/admin/users/{userId}/sessions',
          '/v1/admin/sessions/{id}',
          '/v1/admin/users/{userId}/sessions',
          '/v1/admin/introspect',
          '/v1/admin/events',
          '/v1/admin/users',
          '/v1/admin/users/{usernameOrId}',
          '/v1/admin/keys',
          '/v1/admin/revocations',
          '/v1/admin/revocations/stream',
        ]) {
          expect(paths).toContain(p);
        }
        const keys = spec.body.paths['/v1/admin/keys'].get;
        expect(keys.security).toEqual([{ adminKey: [] }]);
        expect(Object.keys(keys.responses['200'].content['application/json'].schema.properties.keys.items.properties)).toEqual([
          'kid',
          'createdAt',
          'activatesAt',
          'retiresAt',
          'expiresAt',
        ]);
        const user = spec.body.paths['/v1/admin/users/{usernameOrId}'].get;
        expect(user.parameters).toEqual([expect.objectContaining({ name: 'usernameOrId', in: 'path', required: true })]);
        expect(Object.keys(user.responses)).toEqual(expect.arrayContaining(['200', '4XX']));
        const login = spec.body.paths['/v1/auth/login'].post;
        expect(login.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
        expect(Object.keys(login.responses)).toEqual(expect.arrayContaining(['200', '4XX']));
      });

      it('Cache-Control: no-store on every auth and session response, errors included', async () => {
        const s = await start();
        await s.user('alice');
        const session = await login(s, 'alice');
        const replies = [
          await s.call({ method: 'POST', url: '/v1/auth/login', body: {} }),
          await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: 'x' } }),
          await s.call({ method: 'GET', url: '/v1/sessions', token: session.accessToken }),
          await s.call({ method: 'GET', url: '/v1/sessions' }),
          await s.call({ method: 'POST', url: '/v1/admin/introspect', token: ADMIN_KEY, body: { token: 'x' } }),
          await s.call({ method: 'GET', url: '/readyz' }),
        ];
        for (const reply of replies) expect(reply.headers['cache-control']).toBe('no-store');
      });
    });
  });
}

type CallMethod = 'GET' | 'POST' | 'DELETE';
