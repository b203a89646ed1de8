/**
 * Real `redis-server` processes for the tests and the benchmark: each on a free loopback port, in its
 * own temporary directory, stopped and removed afterwards (also if the process exits early). Never
 * the system Redis on 6379.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOST = '127.0.0.1';
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Whether `redis-server` and `redis-cli` are on the PATH. */
export function redisInstalled(): boolean {
  const probe = (bin: string) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
  return probe('redis-server') && probe('redis-cli');
}

/**
 * For `describe.skipIf(...)`: true when Redis is missing and this is not CI, after saying so loudly.
 * On CI (`CI=true`) a missing Redis is a failure, not a skip.
 */
export function skipWithoutRedis(): boolean {
  if (redisInstalled()) return false;
  if (process.env.CI === 'true') throw new Error('redis-server/redis-cli are not installed, and CI=true: the Redis tests must run on CI');
  console.warn('\n' + '!'.repeat(78) + '\n!! redis-server is not installed: SKIPPING the @tessera/redis tests.\n' + '!'.repeat(78) + '\n');
  return true;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Sends one inline command over a raw socket and returns the first reply line ('' on failure). */
function rawCommand(port: number, command: string, timeout = 500): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let data = '';
    const done = (value: string) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeout, () => done(''));
    socket.once('error', () => done(''));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (data.includes('\r\n')) done(data);
    });
  });
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeout: number, what: string): Promise<void> {
  const deadline = performance.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly #args: string[];
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string, args: string[]) {
    this.port = port;
    this.dir = dir;
    this.#args = args;
  }

  /** Starts a server; `extra` are more `redis-server` arguments (e.g. `['--appendonly', 'yes']`). */
  static async start(extra: string[] = []): Promise<RedisServer> {
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-'));
      const args = ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', join(dir, 'redis.log'), ...extra];
      const server = new RedisServer(port, dir, args);
      try {
        await server.#spawn();
        return server;
      } catch (error) {
        await server.stop();
        if (attempt >= 3) throw error; // the port was taken between probing and binding: try another
      }
    }
  }

  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  get address(): string {
    return `${HOST}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Runs `redis-cli` against this server; returns its standard output. */
  cli(...args: string[]): string {
    const result = spawnSync('redis-cli', ['-h', HOST, '-p', String(this.port), ...args], { encoding: 'utf8', timeout: 10_000 });
    if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }

  /** SIGSTOP: the process keeps its sockets open and answers nothing. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** SIGKILL, and waits for the exit: connections are reset, nothing is saved. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts the server again on the same port and directory (after `kill`). */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #spawn(): Promise<void> {
    const child = spawn('redis-server', this.#args, { stdio: 'ignore' });
    this.#child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    let exited = false;
    child.once('exit', () => (exited = true));
    await waitFor(async () => {
      if (exited) throw new Error(`redis-server exited on port ${this.port}`);
      return (await rawCommand(this.port, 'PING')).startsWith('+PONG');
    }, 10_000, `redis-server on port ${this.port}`);
  }
}

export class RedisClusterServers {
  readonly nodes: RedisServer[];
  readonly replicas: number;

  private constructor(nodes: RedisServer[], replicas: number) {
    this.nodes = nodes;
    this.replicas = replicas;
  }

  /**
   * Starts `masters × (1 + replicas)` cluster-enabled servers, creates the cluster with
   * `redis-cli --cluster create`, and waits until every node reports `cluster_state:ok` and knows
   * every other one. `nodeTimeout` is the cluster's failure-detection time.
   */
  static async start(options: { masters?: number; replicas?: number; nodeTimeout?: number } = {}): Promise<RedisClusterServers> {
    const masters = options.masters ?? 3;
    const replicas = options.replicas ?? 1;
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < masters * (1 + replicas); i++) {
        const busPort = await freePort();
        nodes.push(
          await RedisServer.start([
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-node-timeout', String(options.nodeTimeout ?? 2000),
            '--cluster-port', String(busPort),
            // The tests stop masters on purpose: let the rest keep serving what they cover.
            '--cluster-require-full-coverage', 'no',
          ]),
        );
      }
      const created = spawnSync(
        'redis-cli',
        ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', String(replicas), '--cluster-yes'],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}\n${created.stderr}`);
      const cluster = new RedisClusterServers(nodes, replicas);
      await cluster.waitUntilHealthy();
      return cluster;
    } catch (error) {
      await Promise.all(nodes.map((n) => n.stop()));
      throw error;
    }
  }

  /** Root node URLs, as `RedisStore.connect({ cluster })` takes them. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** The `TESSERA_STORE` form. */
  get storeUrl(): string {
    return `redis-cluster://${this.nodes.map((n) => n.address).join(',')}`;
  }

  async waitUntilHealthy(timeout = 30_000): Promise<void> {
    const total = this.nodes.length;
    await waitFor(
      () =>
        this.nodes.every((n) => {
          try {
            const info = n.cli('cluster', 'info');
            return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${total}`) && info.includes('cluster_slots_ok:16384');
          } catch {
            return false;
          }
        }),
      timeout,
      'the Redis Cluster to be ok',
    );
  }

  /** The node serving `key` as master right now. */
  masterOf(key: string): RedisServer {
    for (const node of this.nodes) {
      try {
        const slot = Number(node.cli('cluster', 'keyslot', key).trim());
        const myself = node
          .cli('cluster', 'nodes')
          .split('\n')
          .find((line) => line.split(' ')[2]?.split(',').includes('myself'));
        if (myself && myself.split(' ')[2]!.split(',').includes('master') && ownsSlot(myself, slot)) return node;
      } catch {
        // A stopped node: ask the next one.
      }
    }
    throw new Error(`no master serves ${key}`);
  }

  /** The replica of `master`, once it has every write the master acknowledged so far. */
  async caughtUpReplicaOf(master: RedisServer, timeout = 10_000): Promise<RedisServer> {
    const masterId = master.cli('cluster', 'myid').trim();
    const replica = this.nodes.find((node) => {
      if (node === master) return false;
      try {
        const myself = node
          .cli('cluster', 'nodes')
          .split('\n')
          .find((line) => line.split(' ')[2]?.split(',').includes('myself'));
        return myself?.split(' ')[3] === masterId;
      } catch {
        return false;
      }
    });
    if (!replica) throw new Error('the master has no replica');
    const offset = (node: RedisServer, field: string) => Number(new RegExp(`\\b${field}:(\\d+)`).exec(node.cli('info', 'replication'))?.[1] ?? -1);
    const target = offset(master, 'master_repl_offset');
    await waitFor(() => offset(replica, 'slave_repl_offset') >= target, timeout, 'the replica to catch up');
    return replica;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

/** Whether a `CLUSTER NODES` line lists `slot` among its ranges. */
function ownsSlot(line: string, slot: number): boolean {
  return line
    .split(' ')
    .slice(8)
    .some((range) => {
      const [from, to] = range.split('-').map(Number);
      return from !== undefined && slot >= from && slot <= (to ?? from);
    });
}
