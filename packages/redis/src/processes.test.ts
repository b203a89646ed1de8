/**
 * Two engine processes on one Redis, and on a Redis Cluster: a session revoked in one is rejected by
 * the other, and the delay from the revoking call to the rejection in the other process is measured
 * (printed, not asserted: timings on a shared machine are information, not correctness).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '@tessera/core';
import { expectCode, until } from '@tessera/core/conformance';
import { openRedisStore } from './open.js';
import { RedisClusterServers, RedisServer, skipWithoutRedis } from './testing/redis-server.js';
import { freshPrefix } from './testing/targets.js';

const skip = skipWithoutRedis();
const REVOCATIONS = 250;
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./testing/engine-process.ts', import.meta.url));
const now = () => performance.timeOrigin + performance.now();

type Message = { type: string; sid?: string; [field: string]: unknown };

/** The other process: commands in, JSON lines out. */
class EngineProcess {
  readonly #child: ChildProcess;
  readonly #waiting: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  readonly #backlog: Message[] = [];

  constructor(url: string, prefix: string) {
    this.#child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CHILD, url, prefix], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as Message;
      const i = this.#waiting.findIndex((w) => w.match(message));
      if (i >= 0) this.#waiting.splice(i, 1)[0]!.resolve(message);
      else this.#backlog.push(message);
    });
  }

  send(command: object): void {
    this.#child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  next(type: string, sid?: string, timeout = 10_000): Promise<Message> {
    const match = (m: Message) => m.type === type && (sid === undefined || m.sid === sid);
    const i = this.#backlog.findIndex(match);
    if (i >= 0) return Promise.resolve(this.#backlog.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} ${sid ?? ''} from the other process within ${timeout} ms`)), timeout);
      this.#waiting.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.send({ type: 'exit' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

async function acrossProcesses(name: string, url: string): Promise<void> {
  const prefix = freshPrefix();
  const other = new EngineProcess(url, prefix);
  const store = await openRedisStore(url, { prefix, heartbeatInterval: 100 });
  const engine = await Engine.create({ store, issuer: 'https://tessera.test', audience: 'processes' });
  try {
    await other.next('ready', undefined, 30_000);
    const sessions = [];
    for (let i = 0; i < REVOCATIONS; i++) sessions.push(await engine.createSession({ userId: `proc-${i}` }));
    for (const t of sessions) other.send({ type: 'watch', sid: t.session.sid, token: t.accessToken });
    for (const t of sessions) await other.next('watching', t.session.sid);

    // One at a time: each delay is one revocation's, not a queue's.
    const delays: number[] = [];
    const feedDelays: number[] = [];
    for (const t of sessions) {
      const started = now();
      expect(await engine.revoke(t.session.sid, 'admin')).toBe(true);
      const rejected = await other.next('rejected', t.session.sid);
      expect(rejected.code).toBe('session_revoked');
      delays.push((rejected.rejectedAt as number) - started);
      feedDelays.push((rejected.receivedAt as number) - started);
    }
    expect(delays).toHaveLength(REVOCATIONS);

    // And the other way round.
    other.send({ type: 'create', userId: 'reverse' });
    const created = await other.next('created');
    await expect(engine.verify(created.token)).resolves.toMatchObject({ sessionId: created.sid });
    other.send({ type: 'revoke', sid: created.sid });
    expect((await other.next('revoked', created.sid)).changed).toBe(true);
    await until(() => engine.verify(created.token).then(() => false, () => true), 3000);
    await expectCode(engine.verify(created.token as string), 'session_revoked');

    const sorted = [...delays].sort((a, b) => a - b);
    const feed = [...feedDelays].sort((a, b) => a - b);
    const ms = (x: number) => `${x.toFixed(2)} ms`;
    console.log(
      `\n[${name}] revocation in process A → rejection in process B, ${REVOCATIONS} revocations:` +
        ` p50 ${ms(percentile(sorted, 0.5))}, p99 ${ms(percentile(sorted, 0.99))}, max ${ms(sorted.at(-1)!)}` +
        ` (feed message received: p50 ${ms(percentile(feed, 0.5))}, p99 ${ms(percentile(feed, 0.99))}; target p99 < 50 ms)\n`,
    );
  } finally {
    await other.stop();
    await engine.close();
  }
}

describe.skipIf(skip)('across processes', () => {
  let server: RedisServer;
  let cluster: RedisClusterServers;
  beforeAll(async () => {
    [server, cluster] = await Promise.all([RedisServer.start(), RedisClusterServers.start({ masters: 3, replicas: 1 })]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([server?.stop(), cluster?.stop()]);
  });

  it('a session revoked in one engine process is rejected by another on the same Redis', async () => {
    await acrossProcesses('redis', server.url);
  }, 60_000);

  it('a session revoked in one engine process is rejected by another on the same Redis Cluster', async () => {
    await acrossProcesses('redis-cluster', cluster.storeUrl);
  }, 60_000);
});
