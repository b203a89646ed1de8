import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const password = process.env.DEMO_PASSWORD ?? randomBytes(12).toString('base64url');
const { app, api } = await createApp({ demoUser: { username: 'demo', password } });
const server = serve({ fetch: app.fetch, port }, () => {
  console.log(`Listening on http://localhost:${port} — sign in as demo / ${password}`);
});
api.attach(server as Server); // the events WebSocket
