/**
 * What the service logs never contains a credential: access or refresh token, refresh secret,
 * password, cookie, admin key (OWASP Logging Cheat Sheet). The logs are captured at `trace`, the most
 * verbose level, through a whole session lifecycle, and searched for every secret that went by.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '@tessera/core';
import { ADMIN_KEY, COOKIE_REQUEST_HEADERS, PASSWORD, login, openEvents, startTestServer, type TestServer } from './testing/helpers.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const TRACEPARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`;

describe('logs', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.app.close();
  });

  it('never contain a token, refresh secret, password, cookie or admin key; carry the trace id', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    server = await startTestServer(new MemoryStore(), { logger: { level: 'trace', stream } });
    const s = server;
    const secrets: string[] = [ADMIN_KEY, PASSWORD];
    await s.user('alice');

    const cookieLogin = await login(s, 'alice', { transport: 'cookie', headers: { traceparent: TRACEPARENT } });
    const headerLogin = await login(s, 'alice');
    secrets.push(cookieLogin.accessToken, cookieLogin.refreshToken, headerLogin.accessToken, headerLogin.refreshToken);
    const refreshed = await s.call({ method: 'POST', url: '/v1/auth/refresh', cookie: cookieLogin.refreshToken, headers: { traceparent: TRACEPARENT } });
    const rotated = refreshed.cookies[0]!.value;
    const headerRefreshed = await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: headerLogin.refreshToken } });
    secrets.push(rotated, refreshed.body.accessToken, headerRefreshed.body.refreshToken, headerRefreshed.body.accessToken);

    await s.call({ method: 'POST', url: '/v1/auth/login', body: { username: 'alice', password: 'a wrong password typed', transport: 'header' } });
    secrets.push('a wrong password typed');
    await s.call({ method: 'POST', url: '/v1/auth/login', raw: `{"username":"alice","password":"${PASSWORD}"`, headers: COOKIE_REQUEST_HEADERS });
    const newPassword = 'the brand new passphrase';
    secrets.push(newPassword);
    await s.call({
      method: 'POST',
      url: '/v1/auth/password',
      token: headerRefreshed.body.accessToken,
      body: { currentPassword: PASSWORD, newPassword, revokeOtherSessions: false },
    });
    const created = await s.call({ method: 'POST', url: '/v1/admin/sessions', token: ADMIN_KEY, body: { userId: 'ext-1' } });
    secrets.push(created.body.accessToken, created.body.refreshToken);
    await s.call({ method: 'POST', url: '/v1/admin/introspect', token: ADMIN_KEY, body: { token: created.body.accessToken } });
    await s.call({ method: 'POST', url: '/v1/admin/users', token: ADMIN_KEY, body: { username: 'dora', password: 'dora’s own passphrase' } });
    secrets.push('dora’s own passphrase');
    await s.call({ method: 'POST', url: '/v1/admin/introspect', token: `${ADMIN_KEY}-wrong`, body: { token: created.body.accessToken } });
    const base = await s.listen();
    const events = await openEvents(base, refreshed.body.accessToken);
    await events.next('ready');
    await s.call({ method: 'POST', url: '/v1/auth/logout', cookie: rotated });
    await events.closed;
    await s.call({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken: created.body.refreshToken, extra: 'x' } });

    await s.app.close();
    server = undefined;
    expect(lines.length).toBeGreaterThan(20);
    const text = lines.join('\n');
    for (const secret of secrets) {
      expect(text).not.toContain(secret);
      // Also no fragment that would identify the secret (the refresh secret after the dot, a JWS signature).
      const tail = secret.includes('.') ? secret.slice(secret.lastIndexOf('.') + 1) : secret;
      expect(text).not.toContain(tail);
    }
    expect(text).not.toMatch(/__Host-tessera_refresh=[A-Za-z0-9]/);
    expect(text).not.toMatch(/scrypt\$/);
    const traced = lines.map((l) => JSON.parse(l)).filter((l) => l.traceId === TRACE_ID);
    expect(traced.length).toBeGreaterThanOrEqual(4);
    expect(traced.some((l) => l.msg === 'incoming request')).toBe(true);
    expect(traced.some((l) => l.msg === 'request completed')).toBe(true);
  });
});
