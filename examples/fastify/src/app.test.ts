import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApp } from './app.js';

describe('examples/fastify', () => {
  const password = 'example password 123';
  let base: string;
  let app: Awaited<ReturnType<typeof createApp>>;
  beforeAll(async () => {
    app = await createApp({ demoUser: { username: 'demo', password } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  it('serves /, protects /me, signs in through the API, and tells the open socket of a logout', async () => {
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect((await fetch(`${base}/me`)).status).toBe(401);

    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password, transport: 'header' }),
    });
    const { accessToken, session } = (await login.json()) as { accessToken: string; session: { id: string } };
    const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(await me.json()).toMatchObject({ sessionId: session.id });

    const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/events`);
    const messages: { type: string; reason?: string }[] = [];
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'auth', accessToken }));
    await expect.poll(() => messages.map((m) => m.type)).toContain('ready');

    expect((await fetch(`${base}/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(204);
    expect(await closed).toBe(4001);
    expect(messages.at(-1)).toMatchObject({ type: 'session.revoked', reason: 'logout' });
    expect((await fetch(`${base}/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(401);
  });
});
