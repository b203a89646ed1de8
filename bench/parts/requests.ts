/**
 * Part 1: authenticated requests per second.
 *
 * The same tiny route (`GET /me` → `{userId}`) in Express, Fastify and Hono, protected by each
 * contender, every contender an app process of its own (bench/apps/), loaded by autocannon from this
 * process at the same concurrency over keep-alive loopback connections; contenders interleaved
 * (A B C … A B C …) over several rounds; medians and ratios from the same run.
 *
 * One redis-server (started here) holds every contender's state: Tessera's store, which a
 * `tessera serve` process (its own process too) also uses; connect-redis's sessions; better-auth's
 * secondary storage. Each load uses BENCH_USERS different users' credentials in turn, so per-user
 * caches behave as with real traffic: Tessera verifies each token's signature once and then only
 * checks its cache and the revocation set; jose verifies the signature every time; express-session and
 * better-auth read Redis every time.
 *
 * Besides requests per second it records the CPU time each request cost the app process and Redis
 * (from /proc): on a 2-core machine the load generator competes with the app for CPU, so requests per
 * second understate the gap between cheap and costly contenders, while CPU per request does not.
 */
import autocannon from 'autocannon';
import { cpuTime, startScript, startTesseraServe, type Child, type TesseraService } from '../lib/processes.js';
import { median, sleep } from '../lib/stats.js';
import { RedisServer } from '../../packages/redis/src/testing/redis-server.js';
import type { Auth, Credentials } from '../apps/contenders.js';

export const FRAMEWORKS = ['express', 'fastify', 'hono'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export const AUTH_LABELS: Record<Auth, string> = {
  none: 'no auth (the ceiling)',
  passthrough: 'a no-op middleware, no auth',
  tessera: 'Tessera, in-process verifier',
  'tessera-remote': 'Tessera, remote verifier',
  jose: 'jose `jwtVerify` per request',
  'better-auth': 'better-auth, Redis secondary storage',
  'express-session': 'express-session + connect-redis',
  'fastify-session': '@fastify/session + connect-redis',
};
export const FRAMEWORK_LABELS: Record<Framework, string> = { express: 'Express', fastify: 'Fastify', hono: 'Hono' };

const ADMIN_KEY = 'bench-admin-key-0123456789abcdefghijklmnop';
const ISSUER = 'https://auth.bench.test';
const AUDIENCE = 'bench-api';

export interface RequestsSettings {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  users: number;
  /** The service's access-token lifetime for this run (longer than the run, so that no token expires mid-way). */
  accessTtl: string;
}

export interface RequestsRow {
  id: string;
  framework: Framework;
  auth: Auth;
  /** Median requests per second over the rounds, and each round's. */
  rps: number;
  rpsRounds: number[];
  /** Median latency percentiles (ms) over the rounds. */
  p50: number;
  p99: number;
  /** Median CPU time per request (µs): the app process, Redis, and `tessera serve`. */
  appCpu: number;
  redisCpu: number;
  serviceCpu: number;
  /** Each round's app CPU, and app + Redis + service CPU, per request (µs): for ratios paired by round. */
  appCpuRounds: number[];
  totalCpuRounds: number[];
  /** Errors, timeouts and non-2xx answers over every round (anything but 0 voids the row). */
  failures: number;
}

export interface RequestsData {
  settings: RequestsSettings;
  rows: RequestsRow[];
}

export const requestsSettings = (full: boolean): RequestsSettings =>
  full
    ? { connections: 32, seconds: 6, warmupSeconds: 3, rounds: 8, users: 1000, accessTtl: '2h' }
    : { connections: 32, seconds: 2, warmupSeconds: 1, rounds: 3, users: 1000, accessTtl: '2h' };

export interface Contender {
  id: string;
  framework: Framework;
  auth: Auth;
}

export function contenders(): Contender[] {
  const list: Contender[] = [];
  for (const framework of FRAMEWORKS) {
    const auths: Auth[] = ['none', 'passthrough', 'tessera', 'tessera-remote', 'jose', 'better-auth'];
    if (framework === 'express') auths.push('express-session');
    if (framework === 'fastify') auths.push('fastify-session');
    for (const auth of auths) list.push({ id: `${framework}/${auth}`, framework, auth });
  }
  return list;
}

export interface Running extends Contender {
  child: Child<{ type: 'ready'; port: number; credentials?: Credentials }>;
  base: string;
  credentials: Credentials;
}

/** What every contender app runs against: a redis-server, `tessera serve` on it, and users' access tokens. */
export interface Backdrop {
  redis: RedisServer;
  service: TesseraService;
  tokens: string[];
  /** The settings the app scripts read. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startBackdrop(users: number, accessTtl: string, log: (line: string) => void): Promise<Backdrop> {
  const redis = await RedisServer.start();
  let service: TesseraService | undefined;
  const stop = async () => {
    await service?.stop();
    await redis.stop();
  };
  try {
    service = await startTesseraServe({
      TESSERA_STORE: redis.url,
      TESSERA_ADMIN_KEY: ADMIN_KEY,
      TESSERA_ISSUER: ISSUER,
      TESSERA_AUDIENCE: AUDIENCE,
      TESSERA_ACCESS_TTL: accessTtl,
    });
    log(`tessera serve on ${service.url} (Redis ${redis.url}); issuing ${users} sessions`);
    const tokens = await issueTokens(service.url, users);
    const env = {
      BENCH_REDIS_URL: redis.url,
      BENCH_SERVICE_URL: service.url,
      BENCH_ADMIN_KEY: ADMIN_KEY,
      BENCH_ISSUER: ISSUER,
      BENCH_AUDIENCE: AUDIENCE,
      BENCH_USERS: String(users),
    };
    return { redis, service, tokens, env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts a contender's app process and checks that it answers (and refuses) as it should. */
export async function startApp(contender: Contender, backdrop: Backdrop, execArgv: string[] = []): Promise<Running> {
  const child = await startScript<{ type: 'ready'; port: number; credentials?: Credentials }>(`bench/apps/${contender.framework}.ts`, [contender.auth], {
    env: backdrop.env,
    timeout: 120_000,
    execArgv,
  });
  const credentials = child.ready.credentials ?? backdrop.tokens.map((token) => ({ authorization: `Bearer ${token}` }));
  const app: Running = { ...contender, child, base: `http://127.0.0.1:${child.ready.port}`, credentials };
  try {
    await check(app);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return app;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  app: number;
  redis: number;
  service: number;
  failures: number;
}

export async function runRequests(full: boolean, log: (line: string) => void, only?: readonly string[]): Promise<RequestsData> {
  const settings = requestsSettings(full);
  const backdrop = await startBackdrop(settings.users, settings.accessTtl, log);
  const { redis, service } = backdrop;
  const running: Running[] = [];
  try {
    // Started a few at a time (each loads its framework and TypeScript sources), kept in order.
    const list = contenders().filter((c) => !only || only.includes(c.id));
    log(`starting ${list.length} app processes`);
    for (let i = 0; i < list.length; i += 4) {
      const started = await Promise.allSettled(list.slice(i, i + 4).map((contender) => startApp(contender, backdrop)));
      for (const result of started) if (result.status === 'fulfilled') running.push(result.value);
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    const samples = new Map<string, Sample[]>(running.map((app) => [app.id, []]));
    log(`warm-up: ${settings.warmupSeconds} s each`);
    for (const app of running) await load(app, settings.warmupSeconds, settings.connections);
    for (let round = 1; round <= settings.rounds; round++) {
      // Each framework's contenders run back to back (the ratios pair them within a round), starting
      // one further along each round, so that no contender always follows the same one.
      const order = FRAMEWORKS.flatMap((framework) => {
        const group = running.filter((app) => app.framework === framework);
        const shift = (round - 1) % Math.max(1, group.length);
        return [...group.slice(shift), ...group.slice(0, shift)];
      });
      for (const app of order) {
        const before = { app: cpuTime(app.child.pid), redis: cpuTime(redis.pid!), service: cpuTime(service.pid) };
        const result = await load(app, settings.seconds, settings.connections);
        const total = result.requests.total;
        samples.get(app.id)!.push({
          rps: result.requests.average,
          p50: result.latency.p50,
          p99: result.latency.p99,
          app: (cpuTime(app.child.pid) - before.app) / total,
          redis: (cpuTime(redis.pid!) - before.redis) / total,
          service: (cpuTime(service.pid) - before.service) / total,
          failures: result.errors + result.timeouts + result.non2xx,
        });
        await sleep(200); // let sockets close and Redis settle before the next contender
      }
      log(`round ${round}/${settings.rounds} done`);
    }

    const rows: RequestsRow[] = running.map((app) => {
      const s = samples.get(app.id)!;
      const m = (pick: (x: Sample) => number) => median(s.map(pick));
      return {
        id: app.id,
        framework: app.framework,
        auth: app.auth,
        rps: m((x) => x.rps),
        rpsRounds: s.map((x) => Math.round(x.rps)),
        p50: m((x) => x.p50),
        p99: m((x) => x.p99),
        appCpu: m((x) => x.app),
        redisCpu: m((x) => x.redis),
        serviceCpu: m((x) => x.service),
        appCpuRounds: s.map((x) => x.app),
        totalCpuRounds: s.map((x) => x.app + x.redis + x.service),
        failures: s.reduce((sum, x) => sum + x.failures, 0),
      };
    });
    return { settings, rows };
  } finally {
    await Promise.all(running.map((app) => app.child.stop()));
    await backdrop.stop();
  }
}

export function load(app: Running, seconds: number, connections: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: app.base,
        connections,
        duration: seconds,
        requests: app.credentials.map((headers) => ({ method: 'GET', path: '/me', headers })),
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** Admin API sessions for user-0 … user-(n-1), 16 at a time; their access tokens. */
async function issueTokens(base: string, n: number): Promise<string[]> {
  const tokens: string[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++;
        const response = await fetch(`${base}/v1/admin/sessions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ userId: `user-${i}`, device: { name: 'bench', kind: 'other' } }),
        });
        if (response.status !== 201) throw new Error(`POST /v1/admin/sessions: HTTP ${response.status} ${await response.text()}`);
        tokens[i] = ((await response.json()) as { accessToken: string }).accessToken;
      }
    }),
  );
  return tokens;
}

/** Each contender must answer its first user, and (unless it is the no-auth ceiling) refuse a stranger. */
async function check(app: Running): Promise<void> {
  const me = await fetch(`${app.base}/me`, { headers: app.credentials[0]! });
  const body = (await me.json()) as { userId?: string };
  const anonymous = app.auth === 'none' || app.auth === 'passthrough';
  const expected = anonymous ? 'anonymous' : app.auth === 'better-auth' ? body.userId : 'user-0';
  if (me.status !== 200 || !body.userId || body.userId !== expected) throw new Error(`${app.id}: GET /me answered ${me.status} ${JSON.stringify(body)}`);
  if (anonymous) return;
  const stranger = await fetch(`${app.base}/me`);
  if (stranger.status !== 401) throw new Error(`${app.id}: GET /me without credentials answered ${stranger.status}, not 401`);
  const last = await fetch(`${app.base}/me`, { headers: app.credentials.at(-1)! });
  if (last.status !== 200) throw new Error(`${app.id}: GET /me as the last user answered ${last.status}`);
}
