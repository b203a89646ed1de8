/** What a result was measured on: the machine, and the version of everything involved. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(ROOT, 'package.json'));

export interface Machine {
  nproc: number;
  cpu: string;
  /** `free -h`, as printed. */
  memory: string;
  os: string;
  node: string;
}

function run(bin: string, args: string[]): string {
  try {
    return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function machine(): Machine {
  return {
    nproc: Number(run('nproc', [])) || os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memory: run('free', ['-h']),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

const LOCAL: Record<string, string> = {
  '@tessera/core': 'packages/core',
  '@tessera/node': 'packages/node',
  '@tessera/server': 'packages/server',
  '@tessera/redis': 'packages/redis',
  '@tessera/postgres': 'packages/postgres',
  '@tessera/sqlite': 'packages/sqlite',
  '@tessera/client': 'packages/client',
  '@tessera/vue': 'packages/vue',
};

/** The installed version of a package (a workspace's own, or the one the root resolves). */
export function versionOf(pkg: string): string {
  try {
    const file = LOCAL[pkg] ? join(ROOT, LOCAL[pkg], 'package.json') : require.resolve(`${pkg}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    // Packages whose exports hide package.json: find it next to the entry point.
    try {
      let dir = dirname(require.resolve(pkg));
      for (let i = 0; i < 5; i++, dir = dirname(dir)) {
        try {
          const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
          if (json.name === pkg) return json.version;
        } catch {
          // keep looking up
        }
      }
    } catch {
      // not installed
    }
    return 'not installed';
  }
}

export function versionsOf(pkgs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pkgs.map((pkg) => [pkg, versionOf(pkg)]));
}

/** `redis-server --version`'s version, or ''. */
export function redisServerVersion(): string {
  return /v=(\S+)/.exec(run('redis-server', ['--version']))?.[1] ?? '';
}
