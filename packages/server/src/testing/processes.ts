/**
 * The real `tessera` CLI in child processes, from source (node --conditions=source --import tsx), for
 * the tests of the command line, of a first start, of graceful shutdown and of several nodes on one
 * store. Every child is killed when the test process exits, whatever happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const CLI_SOURCE = join(REPO_ROOT, 'packages/server/src/cli.ts');
const TSX = pathToFileURL(join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A clean environment: no TESSERA_* or NODE_ENV leaks in from the test runner. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function tessera(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string; input?: string; timeout?: number } = {}): Promise<CliResult> {
  return new Promise((resolveResult, reject) => {
    const child = spawnCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolveResult({ code, signal, stdout, stderr });
    });
    child.stdin!.end(options.input ?? '');
  });
}

function spawnCli(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string }): ChildProcess {
  const child = spawn(process.execPath, ['--conditions=source', '--import', TSX, CLI_SOURCE, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: cleanEnv({ TESSERA_LOG_LEVEL: 'warn', ...options.env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  return child;
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `tessera serve` on port 0; resolves once it printed its URL. */
export function serve(options: { env?: Record<string, string | undefined>; cwd?: string; args?: string[] } = {}): Promise<ServeProcess> {
  const child = spawnCli(['serve', ...(options.args ?? [])], { ...options, env: { TESSERA_PORT: '0', TESSERA_HOST: '127.0.0.1', ...options.env } });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      done({ code, signal });
    }),
  );
  return new Promise((resolveServe, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tessera serve did not start:\n${stdout}\n${stderr}`));
    }, 30_000);
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolveServe({
          child,
          url: match[1]!,
          stdout: () => stdout,
          stderr: () => stderr,
          exited,
          async stop(signal = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`tessera serve exited with ${code}:\n${stdout}\n${stderr}`));
    });
  });
}

/**
 * The admin key a development `tessera serve` generated and printed (it prints it just after its URL,
 * so it may arrive a moment after `serve` resolved); null when none was printed within `timeout`.
 */
export async function printedAdminKey(p: ServeProcess, timeout = 5000): Promise<string | null> {
  const started = Date.now();
  for (;;) {
    const match = /^ {2}admin key: +(\S+)/m.exec(p.stdout());
    if (match) return match[1]!;
    if (Date.now() - started > timeout || p.child.exitCode !== null) return null;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function json(url: string, init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
