/**
 * `npm run bench`: Tessera next to what users would pick instead, on this machine, over loopback.
 *
 *   npm run bench                                  quick (a few minutes)
 *   npm run bench -- --full                        more rounds, longer runs
 *   npm run bench -- --only=requests,revocation    some parts (the others keep their last results)
 *   npm run bench -- --no-save                     print only
 *   npm run bench -- --render                      no measuring: the saved results, rendered again
 *   npm run bench -- --only=requests --contenders=fastify/none,fastify/tessera
 *                                                  some contenders of the requests part (print only)
 *
 * Parts: requests (authenticated requests per second), operations (session operations per second
 * per store), revocation (revocation-to-rejection delay across processes), memory (Redis memory per
 * session), bundle (client bundle size). Each part runs its contenders interleaved over several
 * rounds and reports medians and ratios from the same run. Results go to bench/results/latest.json
 * (all parts; each part with its own date and mode), bench/results/latest.md, the chart
 * bench/results/requests.svg, and the results section of BENCHMARKS.md. See BENCHMARKS.md for the method.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, machine, redisServerVersion, versionsOf, type Machine } from './lib/machine.js';
import { RedisServer } from '../packages/redis/src/testing/redis-server.js';
import { bundleSizes } from './lib/bundle-size.js';
import { measureRedisMemory } from './lib/redis-memory.js';
import { runRequests } from './parts/requests.js';
import { runOperations } from './parts/operations.js';
import { runRevocation } from './parts/revocation.js';
import { render, requestsChart, PART_NAMES, type PartName, type Results } from './report.js';

const args = process.argv.slice(2);
const full = args.includes('--full');
const contenders = args.find((a) => a.startsWith('--contenders='))?.slice('--contenders='.length).split(',');
// A partial requests table would replace the whole one: print it, do not save it.
const save = !args.includes('--no-save') && !contenders;
const only = args.includes('--render') ? [] : (args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',') ?? [...PART_NAMES]);
for (const name of only) {
  if (!PART_NAMES.includes(name as PartName)) {
    console.error(`unknown part "${name}"; the parts are ${PART_NAMES.join(', ')}`);
    process.exit(2);
  }
}
const unknown = args.filter((a) => !['--full', '--no-save', '--render'].includes(a) && !a.startsWith('--only=') && !a.startsWith('--contenders='));
if (unknown.length) {
  console.error(`unknown option(s) ${unknown.join(' ')}; see the head of bench/run.ts`);
  process.exit(2);
}

const RESULTS = join(ROOT, 'bench', 'results');
const JSON_FILE = join(RESULTS, 'latest.json');
const log = (line: string) => process.stderr.write(`  ${line}\n`);

const VERSIONED = [
  'autocannon', 'express', 'fastify', 'hono', '@hono/node-server', 'jose', 'better-auth', '@better-auth/redis-storage', 'ioredis',
  'express-session', 'connect-redis', 'redis', 'pg', 'better-sqlite3', 'esbuild', '@tessera/core', '@tessera/node', '@tessera/server',
];

const runners: Record<PartName, () => Promise<unknown>> = {
  requests: () => runRequests(full, log, contenders),
  operations: () => runOperations(full, log),
  revocation: () => runRevocation(full, log),
  memory: async () => {
    const server = await RedisServer.start();
    try {
      return await measureRedisMemory(server.url, full ? 100_000 : 20_000);
    } finally {
      await server.stop();
    }
  },
  bundle: () => bundleSizes(),
};

const previous: Results | null = existsSync(JSON_FILE) ? (JSON.parse(readFileSync(JSON_FILE, 'utf8')) as Results) : null;
// A render keeps the machine and versions the results were measured with.
const results: Results =
  args.includes('--render') && previous
    ? previous
    : {
        machine: machine(),
        versions: { node: process.version, 'redis-server': redisServerVersion(), ...versionsOf(VERSIONED) },
        parts: { ...(previous?.parts ?? {}) },
      };
describeMachine(results.machine);

for (const name of PART_NAMES) {
  if (!only.includes(name)) continue;
  process.stderr.write(`\n${name} (${full ? 'full' : 'quick'})\n`);
  const started = performance.now();
  const data = await runners[name]();
  results.parts[name] = { mode: full ? 'full' : 'quick', at: new Date().toISOString(), seconds: Math.round((performance.now() - started) / 1000), data } as never;
  process.stderr.write(`  ${name}: ${Math.round((performance.now() - started) / 1000)} s\n`);
}

const markdown = render(results, '');
console.log(`\n${markdown}`);
if (save) {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(JSON_FILE, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(RESULTS, 'latest.md'), `${markdown}\n`);
  const chart = requestsChart(results);
  if (chart) writeFileSync(join(RESULTS, 'requests.svg'), chart);
  updateBenchmarksMd(render(results, 'bench/results/'));
  console.error(`\nwritten: bench/results/latest.json, latest.md${chart ? ', requests.svg' : ''}; BENCHMARKS.md's results section`);
}

function describeMachine(m: Machine): void {
  process.stderr.write(`${m.nproc} × ${m.cpu}, ${m.os}, Node ${m.node}\n`);
}

/** Replaces what is between the results markers of BENCHMARKS.md (the method above them is prose). */
function updateBenchmarksMd(section: string): void {
  const file = join(ROOT, 'BENCHMARKS.md');
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- results:begin (written by npm run bench) -->';
  const end = '<!-- results:end -->';
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    console.error('BENCHMARKS.md has no results markers: not updated');
    return;
  }
  writeFileSync(file, `${text.slice(0, from + begin.length)}\n\n${section}\n\n${text.slice(to)}`);
}
