import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, type RevocationEntry } from '@tessera/core';
import { until } from '@tessera/core/conformance';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const root = mkdtempSync(join(tmpdir(), 'tessera-sqlite-processes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Child {
  process: ChildProcessWithoutNullStreams;
  /** Complete lines printed so far. */
  lines: string[];
  /** Resolves when the process has exited and its output is read to the end. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Runs a script of this folder in a new Node process, the way an operator runs Tessera. */
function runChild(script: string, args: string[], onLine: (child: Child) => void = () => {}): Child {
  const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(here, script), ...args], { cwd: repoRoot });
  const child: Child = { process: proc, lines: [], exited: undefined! };
  let partial = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!; // a line without its newline yet was not (fully) printed: not counted
    for (const line of lines) {
      child.lines.push(line);
      onLine(child);
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.exited = new Promise((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return child;
}

describe('SqliteStore across processes', () => {
  describe.each(['normal', 'full'] as const)('with synchronous = %s', (synchronous) => {
    it('keeps every acknowledged session when the writing process is killed with SIGKILL', async () => {
      const path = join(root, `crash-${synchronous}.db`);
      const child = runChild('crash-child.ts', [path, synchronous], (c) => {
        if (c.lines.length === 200) c.process.kill('SIGKILL');
      });
      const { signal, stderr } = await child.exited;
      expect(signal, stderr).toBe('SIGKILL'); // killed while still writing, not finished or failed
      const acknowledged = child.lines;
      expect(acknowledged.length).toBeGreaterThanOrEqual(200);

      const check = new Database(path);
      try {
        expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        check.close();
      }
      const store = new SqliteStore({ path });
      try {
        const missing: string[] = [];
        for (const sid of acknowledged) if ((await store.getSession(sid)) === null) missing.push(sid);
        expect(missing).toEqual([]);
        // The device limit held through the crash: no user has more than 5 live sessions.
        for (let u = 0; u < 10; u++) expect((await store.listSessions(`user-${u}`, Date.now())).length).toBeLessThanOrEqual(5);
      } finally {
        await store.close();
      }
    });
  });

  async function loginRace(onLimit: 'evict-oldest' | 'reject', processes: number, logins: number) {
    const path = join(root, `race-${onLimit}.db`);
    // The first engine creates the shared signing key before the racers start.
    const store = new SqliteStore({ path, pollInterval: 50 });
    const engine = await Engine.create({ store, issuer: 'https://tessera.test', audience: 'multi-process' });
    const announced: RevocationEntry[] = [];
    const stop = store.feed.subscribe({ revoked: (e) => announced.push(e), heartbeat: () => {}, connected: () => {} });
    let ready = 0;
    const children: Child[] = [];
    const go = () => {
      for (const c of children) c.process.stdin.end('go\n');
    };
    for (let i = 0; i < processes; i++) {
      children.push(
        runChild('login-child.ts', [path, 'shared', String(logins), onLimit], (c) => {
          if (c.lines.at(-1) === 'ready' && ++ready === processes) go();
        }),
      );
    }
    for (const c of children) {
      const { code, stderr } = await c.exited;
      expect(code, stderr).toBe(0);
    }
    const created = children.flatMap((c) => c.lines.filter((l) => l.startsWith('created ')).map((l) => l.slice('created '.length)));
    const rejected = children.flatMap((c) => c.lines.filter((l) => l === 'rejected'));
    return { store, engine, created, rejected, announced, close: async () => (stop(), await engine.close()) };
  }

  it('holds the device limit when several processes log one user in at once (evict-oldest)', async () => {
    const { store, created, announced, close } = await loginRace('evict-oldest', 3, 20);
    try {
      expect(created).toHaveLength(60);
      const live = await store.listSessions('shared', Date.now());
      expect(live).toHaveLength(3);
      const liveSids = new Set(live.map((s) => s.sid));
      const evicted = created.filter((sid) => !liveSids.has(sid));
      expect(evicted).toHaveLength(57);
      for (const sid of evicted) expect((await store.getSession(sid))?.revokeReason).toBe('evicted');
      // Written by other processes, these reach this process's listeners by polling.
      await until(() => new Set(announced.map((e) => e.sid)).size === 57, 3000);
      expect(new Set(announced.map((e) => e.sid))).toEqual(new Set(evicted));
    } finally {
      await close();
    }
  });

  it('admits exactly the limit when several processes log one user in at once (reject)', async () => {
    const { store, created, rejected, close } = await loginRace('reject', 3, 5);
    try {
      expect(created).toHaveLength(3);
      expect(rejected).toHaveLength(12);
      expect((await store.listSessions('shared', Date.now())).map((s) => s.sid).sort()).toEqual([...created].sort());
    } finally {
      await close();
    }
  });
});
