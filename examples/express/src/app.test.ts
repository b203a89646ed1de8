import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';

describe('examples/express', () => {
  const password = 'example password 123';
  let base: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const { app, api } = await createApp({ demoUser: { username: 'demo', password } });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    api.attach(server);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      await api.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    };
  });
  afterAll(() => close());

  it('serves /, protects /me, and signs in and out through the mounted API', async () => {
    expect((await fetch(`${base}/`)).status).toBe(200);
    const anonymous = await fetch(`${base}/me`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: 'unauthorized' } });

    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password, transport: 'header' }),
    });
    expect(login.status).toBe(200);
    const { accessToken, session } = (await login.json()) as { accessToken: string; session: { id: string } };
    const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(await me.json()).toMatchObject({ sessionId: session.id, userId: expect.stringMatching(/^usr_/) });

    const logout = await fetch(`${base}/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
    expect(logout.status).toBe(204);
    const after = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ error: { code: 'session_revoked' } });
  });
});
