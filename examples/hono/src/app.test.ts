import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';

describe('examples/hono', () => {
  const password = 'example password 123';
  let base: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const { app, api } = await createApp({ demoUser: { username: 'demo', password } });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await new Promise((resolve) => (server.listening ? resolve(undefined) : server.once('listening', resolve)));
    api.attach(server);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      await api.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    };
  });
  afterAll(() => close());

  it('serves /, protects /me, and signs in, refreshes and out through the mounted API', async () => {
    expect(await (await fetch(`${base}/`)).json()).toMatchObject({ hello: 'world' });
    expect((await fetch(`${base}/me`)).status).toBe(401);

    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password, transport: 'header' }),
    });
    const first = (await login.json()) as { accessToken: string; refreshToken: string; session: { id: string } };
    const refreshed = await fetch(`${base}/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: first.refreshToken }),
    });
    const { accessToken } = (await refreshed.json()) as { accessToken: string };
    const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(await me.json()).toMatchObject({ sessionId: first.session.id });

    expect((await fetch(`${base}/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(204);
    const after = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(await after.json()).toMatchObject({ error: { code: 'session_revoked' } });
  });
});
