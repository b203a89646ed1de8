/**
 * The cost of the Node adapters, side by side, from one run:
 *
 *   npm run bench:node-adapters
 *
 * 1. Route protection: a protected `GET /me` (in-process engine; the token verified once, then
 *    cached) against a public `GET /` of the same app, in Express, Fastify and Hono.
 * 2. The session API: `GET /v1/sessions` (access token + a store read, memory store) on
 *    `tessera serve` (buildServer) and on the Express, Fastify and Hono mounts of the same core.
 *
 * Real HTTP over loopback with a keep-alive agent, 16 requests in flight; contenders interleaved over
 * several rounds, medians reported. Absolute figures on a shared machine are noise: compare within a run.
 */
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Engine, MemoryStore } from '@tessera/core';
import { buildServer } from '@tessera/server';
import { protectedApp, type ProtectedApp } from '../packages/node/src/testing/protection.js';
import { mountedApi } from '../packages/node/src/testing/mounts.js';
import { median } from './lib/stats.js';

const ROUNDS = 5;
const N = 4000;
const IN_FLIGHT = 16;
const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

function get(url: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function rate(url: string, token?: string): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < N) {
        const status = await get(url, token);
        if (status !== 200) throw new Error(`${url}: HTTP ${status}`);
      }
    }),
  );
  return (N / (performance.now() - start)) * 1000;
}

async function compare(title: string, cases: [string, () => Promise<number>][]): Promise<void> {
  const results = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (const [, run] of cases) await run(); // warm-up
  for (let round = 0; round < ROUNDS; round++) for (const [name, run] of cases) results.get(name)!.push(await run());
  const base = median(results.get(cases[0]![0])!);
  console.log(`\n${title} (requests/s, median of ${ROUNDS} rounds of ${N}, ${IN_FLIGHT} in flight)`);
  for (const [name] of cases) {
    const value = median(results.get(name)!);
    console.log(`  ${name.padEnd(32)} ${Math.round(value).toLocaleString('en-US').padStart(8)}   ${(value / base).toFixed(2)}×`);
  }
}

async function main() {
  const engine = await Engine.create({ store: new MemoryStore(), issuer: 'https://bench.test', audience: 'bench' });
  const { accessToken } = await engine.createSession({ userId: 'bench' });
  const apps: ProtectedApp[] = [];
  const protection: [string, () => Promise<number>][] = [];
  for (const framework of ['express', 'fastify', 'hono'] as const) {
    const app = await protectedApp(framework, { verifier: engine });
    apps.push(app);
    protection.push([`${framework} GET / (public)`, () => rate(`${app.base}/`)]);
    protection.push([`${framework} GET /me (protected)`, () => rate(`${app.base}/me`, accessToken)]);
  }
  await compare('Route protection', protection);

  const service = await buildServer({ store: new MemoryStore(), issuer: 'https://tessera.test', audience: 'tessera-tests', adminKey: 'bench-admin-key-0123456789abcdefghij', processMetrics: false });
  await service.listen({ port: 0, host: '127.0.0.1' });
  const serviceBase = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;
  const serviceToken = (await service.tessera.engine.createSession({ userId: 'bench' })).accessToken;
  const api: [string, () => Promise<number>][] = [['tessera serve (Fastify)', () => rate(`${serviceBase}/v1/sessions`, serviceToken)]];
  const mounts = [];
  for (const framework of ['express', 'fastify', 'hono'] as const) {
    const mount = await mountedApi(framework)(new MemoryStore(), {});
    mounts.push(mount);
    const base = await mount.listen();
    const token = (await mount.engine.createSession({ userId: 'bench' })).accessToken;
    api.push([`${framework} mount`, () => rate(`${base}/v1/sessions`, token)]);
  }
  await compare('GET /v1/sessions', api);

  for (const app of apps) await app.close();
  for (const mount of mounts) await mount.close();
  await service.close();
  await engine.close();
  agent.destroy();
}

await main();
