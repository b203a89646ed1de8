/**
 * Verification speed and SQLite store throughput, side by side, from one run.
 *
 *   npm run bench:verify            (quick: ~20 s)
 *   npm run bench:verify -- --full  (more rounds and samples)
 *
 * Contenders are run interleaved (A B C A B C ...) over several rounds and reported as medians and
 * ratios from the same run: absolute figures on a shared machine are noise, ratios are the result.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { Engine, MemoryStore, type IssuedTokens } from '@tessera/core';
import { SqliteStore } from '@tessera/sqlite';
import { rate } from './lib/load.js';
import { fmt, median } from './lib/stats.js';

const full = process.argv.includes('--full');
const ROUNDS = full ? 9 : 5;
const VERIFY_N = full ? 20_000 : 5_000;
const OPS_N = full ? 5_000 : 1_000;

/** Calls one after another: per-call cost, no concurrency. */
const sequential = (n: number, fn: (i: number) => Promise<unknown>) => rate(n, 1, fn);

async function main() {
  const issuer = 'https://bench.test';
  const audience = 'bench';

  // --- verification -------------------------------------------------------------------------
  const engine = await Engine.create({ store: new MemoryStore(), issuer, audience, policy: { maxSessionsPerUser: 0 } });
  const cached = (await engine.createSession({ userId: 'cached' })).accessToken;
  await engine.verify(cached);
  const fresh: string[] = [];
  for (let i = 0; i < VERIFY_N * ROUNDS; i++) fresh.push((await engine.createSession({ userId: `u${i % 1000}` })).accessToken);
  const kid = engine.keys.signingKey(Date.now()).kid;
  const publicKey = engine.keys.publicKey(kid, Date.now())!;
  const options = { algorithms: ['EdDSA'], typ: 'at+jwt', issuer, audience, requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'] };

  const verify = { cached: [] as number[], first: [] as number[], jose: [] as number[] };
  let next = 0;
  for (let round = 0; round < ROUNDS; round++) {
    verify.cached.push(await sequential(VERIFY_N, () => engine.verify(cached)));
    verify.first.push(await sequential(VERIFY_N, () => engine.verify(fresh[next++]!)));
    verify.jose.push(await sequential(VERIFY_N, (i) => jwtVerify(fresh[i]!, publicKey, options)));
  }
  await engine.close();

  // --- SQLite store operations --------------------------------------------------------------
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const sqlite = await Engine.create({ store: new SqliteStore({ path: join(dir, 'bench.db') }), issuer, audience, policy: { maxSessionsPerUser: 10 } });
  const ops = { create: [] as number[], refresh: [] as number[], revoke: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    const issued: IssuedTokens[] = [];
    ops.create.push(await sequential(OPS_N, async (i) => issued.push(await sqlite.createSession({ userId: `r${round}-u${i % 500}` }))));
    ops.refresh.push(await sequential(OPS_N, (i) => sqlite.refresh(issued[i]!.refreshToken)));
    ops.revoke.push(await sequential(OPS_N, (i) => sqlite.revoke(issued[i]!.session.sid)));
  }
  await sqlite.close();
  rmSync(dir, { recursive: true, force: true });

  const jose = median(verify.jose);
  const rows = [
    ['engine.verify, cached token', median(verify.cached), median(verify.cached) / jose],
    ['engine.verify, first sight', median(verify.first), median(verify.first) / jose],
    ['jose jwtVerify alone', jose, 1],
  ] as const;
  console.log(`\n## Verification (${ROUNDS} interleaved rounds of ${fmt(VERIFY_N)}; medians)\n`);
  console.log('| what | verifications/s | × jose |\n|---|---:|---:|');
  for (const [name, r, x] of rows) console.log(`| ${name} | ${fmt(r)} | ${x.toFixed(2)} |`);
  console.log(`\n## SQLite store through the engine (${ROUNDS} rounds of ${fmt(OPS_N)}, sequential; medians)\n`);
  console.log('| operation | ops/s |\n|---|---:|');
  console.log(`| create (device limit 10) | ${fmt(median(ops.create))} |`);
  console.log(`| refresh (rotation) | ${fmt(median(ops.refresh))} |`);
  console.log(`| revoke | ${fmt(median(ops.revoke))} |`);
  console.log(`\nnode ${process.version}, ${process.platform}/${process.arch}`);
}

await main();
