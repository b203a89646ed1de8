/**
 * A throwaway PostgreSQL server of the test's own (initdb into a temporary directory, pg_ctl on a
 * free port), for tests that stop and restart the database. As root, the server runs as the
 * `postgres` user (initdb refuses root) through `runuser`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ThrowawayServer {
  port: number;
  /** Admin URL (user postgres, trust auth) of the `postgres` database. */
  url: string;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** Starts a server, or explains why it cannot (`{ reason }`): no binaries, no way to run as non-root. */
export async function startThrowawayServer(): Promise<ThrowawayServer | { reason: string }> {
  const bin = findBinaries();
  if (!bin) return { reason: 'no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or on PATH' };
  let asUser: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'tessera-pg-'));
  if (process.getuid?.() === 0) {
    try {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      await chown(dir, uid, gid);
      await run('runuser', ['--help']);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      return { reason: `running as root, and cannot run initdb as the postgres user with runuser (${String(error)})` };
    }
    asUser = ['runuser', '-u', 'postgres', '--'];
  }
  const exec = (file: string, args: string[]) => {
    const [command, ...prefix] = asUser.length ? asUser : [file];
    return run(command!, asUser.length ? [...prefix, file, ...args] : args, { timeout: 60_000 });
  };
  const data = join(dir, 'data');
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off`;
  try {
    await exec(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    return { reason: `initdb failed: ${String(error)}` };
  }
  const pgCtl = (...args: string[]) => exec(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), ...args]);
  const server: ThrowawayServer = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: async () => {
      await pgCtl('-w', '-t', '30', '-o', options, 'start');
    },
    stop: async (mode = 'fast') => {
      await pgCtl('-w', '-t', '30', '-m', mode, 'stop');
    },
    destroy: async () => {
      await pgCtl('-m', 'immediate', 'stop').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    return { reason: `pg_ctl start failed: ${String(error)}` };
  }
  return server;
}

function findBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
