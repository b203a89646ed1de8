/**
 * The benchmark's own processes: app and helper scripts (TypeScript, run as the repository's scripts
 * are), `tessera serve`, and their cleanup. Every process started here is stopped when the benchmark
 * ends — normally, on an error, or on Ctrl-C — and an app exits by itself when its parent goes away
 * (see apps/ipc.ts).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './machine.js';

/** How the repository runs TypeScript: workspace packages resolve to their sources. */
export const TS_EXEC_ARGV = ['--conditions=source', '--import', 'tsx'];

const live = new Set<ChildProcess>();
const cleanups = new Set<() => Promise<void>>();

process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: cleaning up\n`);
    const all = Promise.allSettled([...cleanups].map((fn) => fn()));
    const deadline = new Promise((resolve) => setTimeout(resolve, 10_000).unref());
    void Promise.race([all, deadline]).then(() => process.exit(130));
  });
}

/** Registers cleanup to run on Ctrl-C (normal paths run theirs in `finally`); returns its removal. */
export function onInterrupt(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export interface Child<M> {
  readonly process: ChildProcess;
  readonly pid: number;
  /** The `ready` message the child sent. */
  readonly ready: M;
  stop(): Promise<void>;
}

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** SIGTERM, then SIGKILL after `grace` ms; resolves once the process has exited. */
export async function stopProcess(child: ChildProcess, grace = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), grace);
  await exited;
  clearTimeout(timer);
}

export interface ScriptOptions {
  env?: Record<string, string>;
  /** How long it may take to send `ready`, ms. Default 60 s. */
  timeout?: number;
  /** More Node options, e.g. `['--cpu-prof', '--cpu-prof-dir=...']`. */
  execArgv?: string[];
}

/**
 * Forks a TypeScript script of the repository (path relative to the root) with an IPC channel, and
 * resolves once it sends `{ type: 'ready', ... }`. Rejects if it exits or stays silent first.
 */
export async function startScript<M extends { type: 'ready' }>(script: string, args: string[] = [], options: ScriptOptions = {}): Promise<Child<M>> {
  const timeout = options.timeout ?? 60_000;
  const child = fork(join(ROOT, script), args, {
    execArgv: [...TS_EXEC_ARGV, ...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  track(child);
  try {
    const ready = await new Promise<M>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} ${args.join(' ')}: not ready within ${timeout} ms`)), timeout);
      child.on('message', (message: { type?: string }) => {
        if (message?.type === 'ready') {
          clearTimeout(timer);
          resolve(message as M);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${script} ${args.join(' ')} exited (${signal ?? code}) before it was ready`));
      });
      child.once('error', reject);
    });
    return { process: child, pid: child.pid!, ready, stop: () => stopProcess(child) };
  } catch (error) {
    await stopProcess(child, 1000);
    throw error;
  }
}

/** Sends `message` to a child and resolves with its first reply for which `accept` is true. */
export function ask<R>(child: ChildProcess, message: unknown, accept: (reply: any) => reply is R, timeout = 30_000): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const onMessage = (reply: unknown) => {
      if (!accept(reply)) return;
      cleanup();
      resolve(reply);
    };
    const onExit = () => {
      cleanup();
      reject(new Error('the child exited'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no reply within ${timeout} ms`));
    }, timeout);
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(message as never);
  });
}

export interface TesseraService {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** `tessera serve` (the CLI, from source) in its own process, configured by `TESSERA_*` variables. */
export async function startTesseraServe(env: Record<string, string>, timeout = 60_000): Promise<TesseraService> {
  const child = spawn(process.execPath, [...TS_EXEC_ARGV, join(ROOT, 'packages/server/src/cli.ts'), 'serve'], {
    env: { ...process.env, TESSERA_HOST: '127.0.0.1', TESSERA_PORT: '0', TESSERA_DEMO_USER: 'false', TESSERA_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  track(child);
  const lines = createInterface({ input: child.stdout! });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tessera serve: not listening within ${timeout} ms`)), timeout);
      lines.on('line', (line) => {
        const match = /Tessera is listening on (\S+)/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tessera serve exited (${code}) before listening`));
      });
    });
    // Keep draining its output (pino lines at warn and above), so that it never blocks on a full pipe.
    lines.on('line', () => undefined);
    return { url, pid: child.pid!, stop: () => stopProcess(child) };
  } catch (error) {
    await stopProcess(child, 1000);
    throw error;
  }
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux (`getconf CLK_TCK`)

/** CPU time (user + system) a process has used so far, in µs; NaN where /proc is not available. */
export function cpuTime(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces), from field 3: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}
