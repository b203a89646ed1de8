/**
 * An engine in its own process, for the cross-process tests: `node --conditions=source --import tsx
 * engine-process.ts <store url> <prefix>`. It speaks JSON lines: commands on stdin, answers on stdout.
 *
 *   → {"type":"ready"} once connected, then:
 *   {"type":"watch","sid","token"}  verify the token now (it must pass), then report the moment the
 *                                   feed revokes its session and this engine rejects the token:
 *                                   {"type":"rejected","sid","receivedAt","rejectedAt","code"}
 *   {"type":"create","userId"}      → {"type":"created","sid","token"}
 *   {"type":"revoke","sid"}         → {"type":"revoked","sid","changed"}
 *   {"type":"exit"}
 *
 * Times are `performance.timeOrigin + performance.now()`: wall-clock based and sub-millisecond, so
 * comparable between processes of one machine.
 */
import { createInterface } from 'node:readline';
import { Engine, TesseraError } from '@tessera/core';
import { openRedisStore } from '../open.js';

const [url, prefix] = process.argv.slice(2);
if (!url || !prefix) throw new Error('usage: engine-process.ts <store url> <prefix>');

const now = () => performance.timeOrigin + performance.now();
const send = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

const store = await openRedisStore(url, { prefix, heartbeatInterval: 100 });
const engine = await Engine.create({ store, issuer: 'https://tessera.test', audience: 'processes' });
const watched = new Map<string, string>();

// Subscribed after the engine's verifier, so the verifier has marked the session when this runs.
store.feed.subscribe({
  heartbeat: () => undefined,
  connected: () => undefined,
  revoked: (entry) => {
    const token = watched.get(entry.sid);
    if (token === undefined) return;
    watched.delete(entry.sid);
    const receivedAt = now();
    engine.verify(token).then(
      () => send({ type: 'rejected', sid: entry.sid, receivedAt, rejectedAt: now(), code: 'accepted' }),
      (error: unknown) => send({ type: 'rejected', sid: entry.sid, receivedAt, rejectedAt: now(), code: error instanceof TesseraError ? error.code : String(error) }),
    );
  },
});

send({ type: 'ready', pid: process.pid });
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line) as { type: string; sid?: string; token?: string; userId?: string };
  try {
    switch (command.type) {
      case 'watch':
        await engine.verify(command.token);
        watched.set(command.sid!, command.token!);
        send({ type: 'watching', sid: command.sid });
        break;
      case 'create': {
        const issued = await engine.createSession({ userId: command.userId! });
        send({ type: 'created', sid: issued.session.sid, token: issued.accessToken });
        break;
      }
      case 'revoke':
        send({ type: 'revoked', sid: command.sid, changed: await engine.revoke(command.sid!, 'admin') });
        break;
      case 'exit':
        await engine.close();
        process.exit(0);
    }
  } catch (error) {
    send({ type: 'error', command: command.type, message: error instanceof Error ? error.message : String(error) });
  }
}
await engine.close();
