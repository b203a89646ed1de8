/**
 * What the service logs never contains a credential: access or refresh token, refresh secret,
 * password, cookie, admin key (OWASP Logging Cheat Sheet). The logs are captured at `trace`, the most
 * verbose level, through a whole session lifecycle, and searched for every secret that went by; and
 * the admin key a development `tessera serve` generates is in exactly one line of its output: the
 * startup print that shows it.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '@tessera/core';
import { ADMIN_KEY, COOKIE_REQUEST_HEADERS, PASSWORD, login, openEvents, startTestServer, type TestServer } from './testing/helpers.js';
import { json, printedAdminKey, serve, type ServeProcess } from './testing/processes.js';

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

describe('logs of tessera serve with a generated admin key', () => {
  let p: ServeProcess | undefined;
  afterEach(async () => {
    await p?.stop('SIGKILL');
  });

  it('the key is printed once, at startup, and is in no log line, whatever the requests', async () => {
    p = await serve({ env: { TESSERA_STORE: 'memory:', TESSERA_LOG_LEVEL: 'trace', TESSERA_DEMO_USER: 'false' } });
    const key = (await printedAdminKey(p))!;
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const wrong = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    // The key as a credential (right, wrong, in another scheme), and pasted where a token goes.
    for (const authorization of [`Bearer ${key}`, `Bearer ${wrong}`, `bearer  ${key}`, `Basic ${key}`, key]) {
      const headers = { authorization, traceparent: TRACEPARENT };
      await json(`${p.url}/v1/admin/keys`, { headers });
      await json(`${p.url}/v1/admin/users/ivy`, { headers });
      await json(`${p.url}/v1/admin/users`, { headers, body: { username: 'ivy', password: 'ivys long passphrase' } });
      await json(`${p.url}/v1/admin/sessions`, { headers, body: { userId: 'ext-1' } });
      await json(`${p.url}/v1/admin/introspect`, { headers, body: { token: key } });
      await json(`${p.url}/v1/admin/users/ext-1/sessions`, { headers, body: { unexpected: true } });
      await json(`${p.url}/v1/sessions`, { headers });
    }
    await json(`${p.url}/v1/auth/refresh`, { body: { refreshToken: key } });
    expect((await json(`${p.url}/v1/admin/keys`, { token: key })).status).toBe(200);
    expect(await p.stop()).toEqual({ code: 0, signal: null });

    const lines = `${p.stdout()}\n${p.stderr()}`.split('\n').filter(Boolean);
    p = undefined;
    expect(lines.filter((line) => line.startsWith('{')).length).toBeGreaterThan(40); // trace logs of every request
    expect(lines.some((line) => line.includes(TRACE_ID))).toBe(true);
    const showing = lines.filter((line) => line.includes(key) || line.includes(key.slice(0, 16)) || line.includes(key.slice(-16)));
    expect(showing).toEqual([expect.stringMatching(new RegExp(`^  admin key: +${key} `))]);
  }, 60_000);
});
