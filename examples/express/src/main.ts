import { randomBytes } from 'node:crypto';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const password = process.env.DEMO_PASSWORD ?? randomBytes(12).toString('base64url');
const { app, api } = await createApp({ demoUser: { username: 'demo', password } });
const server = app.listen(port, () => {
  console.log(`Listening on http://localhost:${port} — sign in as demo / ${password}`);
});
api.attach(server); // the events WebSocket
