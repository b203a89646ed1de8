/**
 * The results of `npm run bench` as one JSON document (every part, each with its own date and mode)
 * and its renderings: the markdown tables (bench/results/latest.md and BENCHMARKS.md) and the chart.
 */
import type { Machine } from './lib/machine.js';
import type { BundleSize } from './lib/bundle-size.js';
import { CLIENT_TARGET_BYTES, kb } from './lib/bundle-size.js';
import { table } from './lib/markdown.js';
import type { RedisMemory } from './lib/redis-memory.js';
import { fmt, median, ms, ratio, times } from './lib/stats.js';
import { barChart } from './lib/svg.js';
import { AUTH_LABELS, FRAMEWORK_LABELS, FRAMEWORKS, type RequestsData, type RequestsRow } from './parts/requests.js';
import { BACKEND_LABELS, RAW_LABELS, type OperationsData } from './parts/operations.js';
import { FEED_LABELS, type RevocationData } from './parts/revocation.js';
import type { Auth } from './apps/contenders.js';

export const PART_NAMES = ['requests', 'operations', 'revocation', 'memory', 'bundle'] as const;
export type PartName = (typeof PART_NAMES)[number];

interface Part<D> {
  mode: 'quick' | 'full';
  /** ISO date of the run. */
  at: string;
  /** How long the part took. */
  seconds: number;
  data: D;
}

export interface Results {
  machine: Machine;
  versions: Record<string, string>;
  parts: {
    requests?: Part<RequestsData>;
    operations?: Part<OperationsData>;
    revocation?: Part<RevocationData>;
    memory?: Part<RedisMemory>;
    bundle?: Part<{ esbuild: string; rows: BundleSize[] }>;
  };
}

/** Tessera's request-rate targets (issue 9). */
export const TARGETS = { noAuth: 0.9, expressSession: 3 };

const when = (part: Part<unknown>) => `${part.mode} mode, ${part.at.slice(0, 16).replace('T', ' ')} UTC, ${part.seconds} s`;

export function render(results: Results, assetBase: string): string {
  const { machine: m } = results;
  const out: string[] = [];
  out.push(
    `Measured on ${m.nproc} × ${m.cpu} (\`nproc\` = ${m.nproc}), ${m.os}, Node ${m.node}; Redis ${results.versions['redis-server'] ?? '?'}. Memory (\`free -h\`):`,
    '',
    '```',
    m.memory,
    '```',
  );
  out.push(
    '',
    'Versions: ' +
      Object.entries(results.versions)
        .map(([name, version]) => `${name} ${version}`)
        .join(', ') +
      '.',
  );
  const { requests, operations, revocation, memory, bundle } = results.parts;
  if (requests) out.push('', renderRequests(requests, assetBase));
  if (operations) out.push('', renderOperations(operations));
  if (revocation) out.push('', renderRevocation(revocation));
  if (memory) out.push('', renderMemory(memory));
  if (bundle) out.push('', renderBundle(bundle));
  return out.join('\n');
}

function find(rows: RequestsRow[], framework: string, auth: Auth): RequestsRow | undefined {
  return rows.find((r) => r.framework === framework && r.auth === auth);
}

/** Each framework's server-side session with a Redis lookup per request, where it has one. */
const STORE_SESSION: Partial<Record<string, Auth>> = { express: 'express-session', fastify: 'fastify-session' };

const KIND_LABELS = { tessera: 'in-process', 'tessera-remote': 'remote' } as const;

const total = (r: RequestsRow) => r.appCpu + r.redisCpu + r.serviceCpu;

/**
 * The median over rounds of a / b within each round: two contenders of one framework run back to back
 * in a round, so their ratio does not drift with the machine's speed as the medians of each do.
 */
function paired(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}

/** The ratios the targets are judged on. */
export function requestRatios(data: RequestsData, row: RequestsRow) {
  const none = find(data.rows, row.framework, 'none');
  const sessionAuth = STORE_SESSION[row.framework];
  const session = sessionAuth ? find(data.rows, row.framework, sessionAuth) : undefined;
  return {
    noAuth: none ? paired(row.rpsRounds, none.rpsRounds) : NaN,
    /** Requests per app-CPU-second, relative to no auth: the ratio on a core of its own. */
    noAuthCpu: none ? paired(none.appCpuRounds, row.appCpuRounds) : NaN,
    /** Over the same framework's Redis-backed session (express-session, @fastify/session). */
    session: session ? paired(row.rpsRounds, session.rpsRounds) : NaN,
    /** The same, by total CPU (app + Redis + service) per request. */
    sessionCpu: session ? paired(session.totalCpuRounds, row.totalCpuRounds) : NaN,
  };
}

function renderRequests(part: Part<RequestsData>, assetBase: string): string {
  const { settings, rows } = part.data;
  const lines: string[] = [];
  lines.push(
    `### 1. Authenticated requests per second`,
    '',
    `\`GET /me\` → \`{userId}\`, each contender an app process of its own; autocannon (in the runner's process) with ${settings.connections} keep-alive connections, cycling through ${fmt(settings.users)} users' credentials; ${settings.rounds} interleaved rounds of ${settings.seconds} s after a ${settings.warmupSeconds} s warm-up each; medians (${when(part)}). Each round runs a framework's contenders back to back (starting one further along each round); the ratios are medians of each round's ratio, which do not drift with the machine's speed as each contender's own median does. "× no auth" compares with the same framework without authentication; "by CPU" divides the app process's CPU time per request instead of counting requests (the load generator shares the machine's two cores: CPU per request is the steadier measure of cost).`,
    '',
    `![Authenticated requests per second](${assetBase}requests.svg)`,
    '',
  );
  const body = rows.map((row) => {
    const r = requestRatios(part.data, row);
    return [
      FRAMEWORK_LABELS[row.framework],
      AUTH_LABELS[row.auth] + (row.failures ? ` (**${row.failures} failed requests**)` : ''),
      fmt(row.rps),
      ratio(r.noAuth),
      ratio(r.noAuthCpu),
      Number.isFinite(r.session) ? ratio(r.session) : '',
      row.appCpu.toFixed(1),
      row.redisCpu.toFixed(1),
      `${ms(row.p50)} / ${ms(row.p99)}`,
    ];
  });
  lines.push(
    table(['framework', 'contender', 'req/s', '× no auth', '× no auth, by CPU', '× Redis session', 'app CPU µs/req', 'Redis CPU µs/req', 'latency p50 / p99 ms'], body, 'llrrrrrrr'),
    '',
    'Targets (Tessera, in-process and remote verifier):',
    '',
  );
  const targetRows: string[][] = [];
  for (const framework of FRAMEWORKS) {
    for (const auth of ['tessera', 'tessera-remote'] as const) {
      const row = find(rows, framework, auth);
      if (!row) continue;
      const r = requestRatios(part.data, row);
      targetRows.push([
        `≥ ${TARGETS.noAuth}× no auth`,
        `${FRAMEWORK_LABELS[framework]}, ${KIND_LABELS[auth]}`,
        `${ratio(r.noAuth)} (by CPU ${ratio(r.noAuthCpu)})`,
        r.noAuth >= TARGETS.noAuth ? 'met' : r.noAuthCpu >= TARGETS.noAuth ? 'missed by req/s, met by CPU' : '**missed**',
      ]);
    }
  }
  for (const framework of ['express', 'fastify'] as const) {
    for (const auth of ['tessera', 'tessera-remote'] as const) {
      const row = find(rows, framework, auth);
      const sessionAuth = STORE_SESSION[framework]!;
      if (!row || !find(rows, framework, sessionAuth)) continue;
      const r = requestRatios(part.data, row);
      targetRows.push([
        `≥ ${TARGETS.expressSession}× ${AUTH_LABELS[sessionAuth]}${framework === 'express' ? '' : ' (the same target, on Fastify)'}`,
        `${FRAMEWORK_LABELS[framework]}, ${KIND_LABELS[auth]}`,
        `${ratio(r.session)} (by total CPU ${ratio(r.sessionCpu)})`,
        r.session >= TARGETS.expressSession ? 'met' : '**missed**',
      ]);
    }
  }
  lines.push(table(['target', 'Tessera', 'measured', ''], targetRows, 'llll'));
  // Where the cost goes: what the framework charges for any middleware, and what Tessera adds on top.
  const costRows: string[][] = [];
  for (const framework of FRAMEWORKS) {
    const none = find(rows, framework, 'none');
    const passthrough = find(rows, framework, 'passthrough');
    if (!none || !passthrough) continue;
    for (const auth of ['tessera', 'tessera-remote'] as const) {
      const row = find(rows, framework, auth);
      if (!row) continue;
      costRows.push([
        `${FRAMEWORK_LABELS[framework]}, ${KIND_LABELS[auth]}`,
        (passthrough.appCpu - none.appCpu).toFixed(1),
        (row.appCpu - passthrough.appCpu).toFixed(1),
        `${ratio(paired(row.rpsRounds, passthrough.rpsRounds))} (by CPU ${ratio(paired(passthrough.appCpuRounds, row.appCpuRounds))})`,
      ]);
    }
  }
  if (costRows.length) {
    lines.push(
      '',
      'Where the cost over no auth goes, in app CPU per request: what the framework charges for a middleware that does nothing, and what Tessera adds on top of that.',
      '',
      table(['Tessera', 'a no-op middleware, µs', 'Tessera beyond it, µs', '× the no-op middleware'], costRows, 'lrrr'),
      '',
      'A negative figure is a difference smaller than the run-to-run noise of that framework (differences of medians taken minutes apart).',
    );
  }
  const none = find(rows, 'express', 'none');
  const session = find(rows, 'express', 'express-session');
  const tessera = find(rows, 'express', 'tessera');
  if (none && session && tessera) {
    const ceiling = paired(none.rpsRounds, session.rpsRounds);
    const added = (row: RequestsRow) => {
      const µs = total(row) - total(none);
      return µs < 0 ? `nothing measurable (${µs.toFixed(0)} µs: noise)` : `${µs.toFixed(0)} µs`;
    };
    lines.push(
      '',
      `Express with no authentication at all serves ${ratio(ceiling)} the requests of express-session + connect-redis here${ceiling < TARGETS.expressSession ? `: that is the ceiling of the second target, which no authentication in Express can reach on this machine` : ''}. What authentication adds to an Express request in CPU (app + Redis + service): express-session + connect-redis ${added(session)}, Tessera in process ${added(tessera)}.`,
    );
  }
  return lines.join('\n');
}

const AUTH_COLORS: Record<Auth, string> = {
  none: '#8c959f',
  passthrough: '#afb8c1',
  tessera: '#0969da',
  'tessera-remote': '#54aeff',
  jose: '#8250df',
  'better-auth': '#bf8700',
  'express-session': '#cf222e',
  'fastify-session': '#fa4549',
};

export function requestsChart(results: Results): string | null {
  const part = results.parts.requests;
  if (!part) return null;
  const { data } = part;
  const auths = [...new Set(data.rows.map((r) => r.auth))];
  return barChart({
    title: 'Authenticated requests per second (higher is better)',
    subtitle: `GET /me, ${data.settings.connections} connections, ${data.settings.rounds} interleaved rounds: bars are medians, ratios are medians of each round’s ratio · ${results.machine.nproc} × ${results.machine.cpu}, Node ${results.machine.node} · ${part.at.slice(0, 10)}`,
    groups: FRAMEWORKS.map((framework) => ({
      label: FRAMEWORK_LABELS[framework],
      bars: data.rows
        .filter((r) => r.framework === framework)
        .map((row) => ({
          label: AUTH_LABELS[row.auth].replace(/`/g, ''),
          value: row.rps,
          color: AUTH_COLORS[row.auth],
          muted: row.auth === 'none' || row.auth === 'passthrough',
          note: row.auth === 'none' ? 'the ceiling' : `${ratio(requestRatios(data, row).noAuth)} no auth`,
        })),
    })),
    format: (v) => `${fmt(v)} req/s`,
    legend: auths.map((auth) => ({ label: AUTH_LABELS[auth].replace(/`/g, ''), color: AUTH_COLORS[auth] })),
  });
}

function renderOperations(part: Part<OperationsData>): string {
  const { settings, rows, skipped } = part.data;
  const body = rows.map((row) => {
    const { raw, login, refresh, revoke } = row.results;
    return [
      `${BACKEND_LABELS[row.backend]}${row.version ? ` ${row.version}` : ''}`,
      `${fmt(raw.opsPerSecond)} (${RAW_LABELS[row.backend]})`,
      fmt(login.opsPerSecond),
      times(login.opsPerSecond, raw.opsPerSecond, 3),
      fmt(refresh.opsPerSecond),
      times(refresh.opsPerSecond, raw.opsPerSecond, 3),
      fmt(revoke.opsPerSecond),
      times(revoke.opsPerSecond, raw.opsPerSecond, 3),
    ];
  });
  const latency = rows.map((row) => {
    const { raw, login, refresh, revoke } = row.results;
    return [BACKEND_LABELS[row.backend], ...[raw, login, refresh, revoke].map((x) => `${ms(x.p50)} / ${ms(x.p99)}`)];
  });
  return [
    '### 2. Session operations per second, by store',
    '',
    `Through the engine (what an application sees: an Ed25519 access token signed per login and refresh, events logged), ${settings.concurrency} calls in flight, each store driven from a process of its own; login with a device limit of ${settings.deviceLimit} and every user at the limit (each login evicts one session); ${settings.rounds} interleaved rounds of ${settings.seconds} s per operation; medians (${when(part)}). "× raw" is the rate over the store's raw round trip at the same concurrency.`,
    '',
    table(['store', 'raw round trips/s', 'login/s', '× raw', 'refresh/s', '× raw', 'revoke/s', '× raw'], body, 'llrrrrrr'),
    '',
    'Latency, p50 / p99 ms:',
    '',
    table(['store', 'raw', 'login', 'refresh', 'revoke'], latency, 'lrrrr'),
    ...(skipped.length ? ['', ...skipped.map((s) => `Not measured: ${BACKEND_LABELS[s.backend]} (${s.reason}).`)] : []),
  ].join('\n');
}

function renderRevocation(part: Part<RevocationData>): string {
  const { rows, skipped, jwt, settings } = part.data;
  const window = jwt.lifetime + jwt.leeway;
  const body = rows.map((row) => [
    FEED_LABELS[row.feed],
    ms(row.p50),
    ms(row.p99),
    ms(row.max),
    `${row.samples}${row.missed ? ` (**${row.missed} never refused**)` : ''}`,
    ms(row.revokeCall),
    `${fmt(window / row.p99)}× shorter`,
  ]);
  body.push(['stateless JWT (e.g. jose alone)', '—', '—', `${fmt(jwt.lifetime)} + ${fmt(jwt.leeway)} leeway`, '—', '—', 'the token lives until it expires']);
  return [
    '### 3. Revocation-to-rejection delay, across two processes',
    '',
    `From the start of the revoking call in one process to the first refusal of the session's access token in another, which verifies it on every turn of its event loop; both instants on CLOCK_MONOTONIC. ${settings.samples} revocations per feed, interleaved (${when(part)}).`,
    '',
    table(['feed', 'p50 ms', 'p99 ms', 'max ms', 'samples', 'revoking call p50 ms', 'vs a stateless JWT (p99)'], body, 'lrrrrrl'),
    ...(skipped.length ? ['', ...skipped.map((s) => `Not measured: ${FEED_LABELS[s.feed]} (${s.reason}).`)] : []),
  ].join('\n');
}

function renderMemory(part: Part<RedisMemory>): string {
  const d = part.data;
  return [
    '### 4. Redis memory per live session',
    '',
    `\`used_memory\` delta over ${fmt(d.sessions)} sessions, one per user (${when(part)}).`,
    '',
    table(
      ['what', 'bytes/session', '× connect-redis'],
      [
        ['Tessera, fresh session (record + user index)', fmt(d.fresh), times(d.fresh, d.connectRedis)],
        ['Tessera, after one refresh (+ previous hash, sealed successor)', fmt(d.refreshed), times(d.refreshed, d.connectRedis)],
        ['connect-redis, express-session Cookie + passport user', fmt(d.connectRedis), '1.00×'],
      ],
    ),
    '',
    'A Tessera record also holds the device, IP, user agent, refresh-hash history and expiry times; its user index is what makes the device limit and "sign out everywhere" one atomic script.',
  ].join('\n');
}

function renderBundle(part: Part<{ esbuild: string; rows: BundleSize[] }>): string {
  const { esbuild, rows } = part.data;
  const ours = rows[0]!.gzip;
  return [
    '### 5. Client bundle size',
    '',
    `A typical import of each library, bundled alike: esbuild ${esbuild}, ESM, minified, browser, tree-shaken; gzip -9 (${when(part)}).`,
    '',
    table(
      ['library', 'version', 'minified', 'min + gzip', 'min + brotli', '× @tessera/client'],
      rows.map((r) => [r.name, r.version, kb(r.min), kb(r.gzip), kb(r.brotli), times(r.gzip, ours)]),
      'llrrrr',
    ),
    '',
    `@tessera/client's budget: < ${kb(CLIENT_TARGET_BYTES)} min + gzip — ${ours < CLIENT_TARGET_BYTES ? 'met' : '**missed**'} (${fmt(ours)} bytes).`,
  ].join('\n');
}
