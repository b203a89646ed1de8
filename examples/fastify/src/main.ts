import { randomBytes } from 'node:crypto';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const password = process.env.DEMO_PASSWORD ?? randomBytes(12).toString('base64url');
const app = await createApp({ demoUser: { username: 'demo', password } });
await app.listen({ port });
console.log(`Listening on http://localhost:${port} — sign in as demo / ${password}`);
