/**
 * Profiles one contender app of the requests benchmark under load: starts what it needs (redis-server,
 * `tessera serve`, users' tokens) and the app, warms it up, then records a CPU profile (V8's sampling
 * profiler, the one behind `node --cpu-prof`, through the inspector) while autocannon loads it, and
 * prints where the app's CPU went: self time by package and by function, and the hottest stacks.
 *
 *   npm run bench:profile -- <express|fastify|hono> <none|passthrough|tessera|tessera-remote|jose|better-auth|express-session> [seconds]
 *
 * The profile (.cpuprofile, for Chrome DevTools or speedscope) is kept under .bench-out/profiles/.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib/machine.js';
import { ask, cpuTime } from './lib/processes.js';
import { FRAMEWORKS, load, startApp, startBackdrop, type Framework } from './parts/requests.js';
import { AUTHS, type Auth } from './apps/contenders.js';

const [framework, auth, secondsArg] = process.argv.slice(2) as [Framework, Auth, string | undefined];
if (!FRAMEWORKS.includes(framework) || !AUTHS.includes(auth)) {
  console.error(`usage: npm run bench:profile -- <${FRAMEWORKS.join('|')}> <${AUTHS.join('|')}> [seconds]`);
  process.exit(2);
}
const seconds = Number(secondsArg ?? 10);
const dir = join(ROOT, '.bench-out', 'profiles', `${framework}-${auth}-${Date.now()}`);
mkdirSync(dir, { recursive: true });

const backdrop = await startBackdrop(1000, '2h', (line) => console.error(line));
try {
  const app = await startApp({ id: `${framework}/${auth}`, framework, auth }, backdrop);
  await load(app, 3, 32); // warm-up: every user's first request, and the JIT
  await ask(app.child.process, { type: 'profile-start' }, (m): m is object => m?.type === 'profile-started');
  const before = cpuTime(app.child.pid);
  const result = await load(app, seconds, 32);
  const cpu = (cpuTime(app.child.pid) - before) / result.requests.total;
  await ask(app.child.process, { type: 'profile-stop', file: join(dir, 'app.cpuprofile') }, (m): m is object => m?.type === 'profile-stopped');
  console.log(`${app.id}: ${Math.round(result.requests.average)} req/s, app CPU ${cpu.toFixed(1)} µs/request, ${result.non2xx + result.errors} failures`);
  await app.child.stop();
} finally {
  await backdrop.stop();
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const frame = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^file:\/\//, '').replace(ROOT + '/', '');
  return `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
};
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile written in ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const node of profile.nodes) {
  const t = self.get(node.id) ?? 0;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^file:\/\//, '').replace(ROOT + '/', '');
  const key = `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
  byFunction.set(key, (byFunction.get(key) ?? 0) + t);
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ?? (where.startsWith('packages/') ? where.split('/').slice(0, 2).join('/') : where.startsWith('node:') ? 'node (built-in)' : where ? where : functionName);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + t);
}
const top = (m: Map<string, number>, n: number) =>
  [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n');
// The hottest stacks, leaf first (eight frames).
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const stacks = new Map<string, number>();
for (const node of profile.nodes) {
  const t = self.get(node.id) ?? 0;
  if (!t) continue;
  const frames: string[] = [];
  for (let id: number | undefined = node.id; id !== undefined && frames.length < 8; id = parent.get(id)) frames.push(frame(byId.get(id)!));
  const key = frames.join('\n      <- ');
  stacks.set(key, (stacks.get(key) ?? 0) + t);
}
console.log(`\nself time by package:\n${top(byPackage, 15)}\n\nself time by function:\n${top(byFunction, 30)}\n\nhottest stacks:\n${top(stacks, 12)}\n\nprofile: ${join(dir, file)}`);
