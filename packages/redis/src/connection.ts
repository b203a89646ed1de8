/**
 * One code path for a single Redis and a Redis Cluster: the store asks for a script by name or a
 * command with the key that routes it, and gets an answer or `store_unavailable` within a bounded
 * time.
 *
 * Bounded time, from three parts:
 * - `disableOfflineQueue`: while a connection is down (refused, reset, reconnecting) commands fail at
 *   once instead of queueing for a Redis that may never come back;
 * - a deadline on every call: node-redis' own command timeout stops counting once the command is
 *   written, so a Redis that accepted the bytes and then stopped answering (SIGSTOP, a partition with
 *   no reset) would otherwise hold the call forever;
 * - `commandsQueueMaxLength`: while such a Redis is silent, the calls that passed their deadline are
 *   still waiting for a reply on the connection; past this many, new calls fail at once.
 * A call that passed its deadline may still run if Redis answers later: as with any remote store the
 * outcome is then unknown to the caller, but never partial (each call is one script).
 */
import { createClient, createCluster, type RedisClientOptions } from 'redis';
import { TesseraError, storeUnavailable } from '@tessera/core';
import { SCRIPTS, type ScriptName } from './scripts.js';

export type RedisTarget = { url: string } | { cluster: string[] };

export interface ConnectionOptions {
  /** Longest wait for any one call, in ms. */
  commandTimeout: number;
  /** Longest wait for the first connection, in ms. */
  connectTimeout: number;
}

/** Calls waiting for a reply on one connection before new calls are refused. */
const MAX_QUEUE = 10_000;

/**
 * Quick first retries (a restart or a failover is usually over within a second or two), then one
 * a second; the jitter keeps a fleet of processes from reconnecting in lockstep. It always retries,
 * including after a socket timeout (node-redis' default gives up then).
 */
export function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** retries, 1000) + Math.floor(Math.random() * 100);
}

function clientOptions(options: ConnectionOptions) {
  return {
    disableOfflineQueue: true,
    commandsQueueMaxLength: MAX_QUEUE,
    socket: { connectTimeout: options.connectTimeout, reconnectStrategy: reconnectDelay },
  } satisfies Partial<RedisClientOptions>;
}

const newClient = (url: string, options: ConnectionOptions) => createClient({ url, ...clientOptions(options), scripts: SCRIPTS });
const newCluster = (urls: string[], options: ConnectionOptions) =>
  createCluster({ rootNodes: urls.map((url) => ({ url })), defaults: clientOptions(options), scripts: SCRIPTS });

type Client = ReturnType<typeof newClient>;
type Cluster = ReturnType<typeof newCluster>;

/** Resolves with `promise`, or rejects once `ms` have passed; a late rejection is absorbed. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export class Connection {
  readonly kind: 'redis' | 'redis-cluster';
  readonly #options: ConnectionOptions;
  readonly #client: Client | undefined;
  readonly #cluster: Cluster | undefined;
  readonly #rootUrls: string[];
  #closed = false;
  #lastRediscovery = 0;

  private constructor(target: RedisTarget, options: ConnectionOptions) {
    this.#options = options;
    if ('cluster' in target) {
      this.kind = 'redis-cluster';
      this.#rootUrls = target.cluster;
      this.#cluster = newCluster(target.cluster, options);
      // Errors are answered per call; without a listener an 'error' event would crash the process.
      this.#cluster.on('error', () => undefined);
      // node-redis learns a new topology only from MOVED replies; a master that died answers nothing,
      // so without help the client never finds the promoted replica (redis/node-redis#2806). Node
      // errors and failed calls trigger a rediscovery, at most once a second.
      this.#cluster.on('node-error', () => this.#rediscover());
    } else {
      this.kind = 'redis';
      this.#rootUrls = [target.url];
      this.#client = newClient(target.url, options);
      this.#client.on('error', () => undefined);
    }
  }

  /** Connects, or rejects with `store_unavailable` after `connectTimeout`. */
  static async open(target: RedisTarget, options: ConnectionOptions): Promise<Connection> {
    const connection = new Connection(target, options);
    try {
      await within<unknown>(connection.#client ? connection.#client.connect() : connection.#cluster!.connect(), options.connectTimeout, 'Redis');
    } catch (error) {
      connection.#destroy();
      throw storeUnavailable(error, 'Redis');
    }
    return connection;
  }

  /** Runs one of the store's scripts (EVALSHA, or EVAL once if Redis lost it). */
  script(name: ScriptName, keys: string[], args: string[]): Promise<unknown> {
    return this.#call(() => (this.#client ? this.#client[name](keys, args) : this.#cluster![name](keys, args)));
  }

  /** Runs a command; `key` routes it in a cluster (`undefined`: any node). */
  command(key: string | undefined, args: string[]): Promise<unknown> {
    return this.#call(() => (this.#client ? this.#client.sendCommand(args) : this.#cluster!.sendCommand(key, false, args)));
  }

  /** Several commands at once (pipelined: written together, answered together). */
  commands(calls: readonly { key: string | undefined; args: string[] }[]): Promise<unknown[]> {
    return this.#call(() =>
      Promise.all(calls.map(({ key, args }) => (this.#client ? this.#client.sendCommand(args) : this.#cluster!.sendCommand(key, false, args)))),
    );
  }

  /** Every server answers PING (every master, in a cluster). */
  ping(): Promise<void> {
    return this.#call(async () => {
      if (this.#client) {
        await this.#client.ping();
        return;
      }
      const cluster = this.#cluster!;
      if (cluster.masters.length === 0) throw new Error('the cluster has no known master');
      await Promise.all(cluster.masters.map(async (master) => (await cluster.nodeClient(master)).ping()));
    });
  }

  /**
   * Where feed subscribers connect, as `redis://` URLs with the credentials of the first root URL:
   * `first`, one per subscriber (the server; in a cluster each master, where the scripts publish),
   * and `all`, every node a subscriber may move on to (any cluster node relays every PUBLISH).
   */
  subscriberUrls(): { first: string[]; all: string[] } {
    if (!this.#cluster) return { first: [...this.#rootUrls], all: [...this.#rootUrls] };
    const urlOf = (node: { host: string; port: number }) => {
      const url = new URL(this.#rootUrls[0]!);
      url.hostname = node.host;
      url.port = String(node.port);
      return url.href;
    };
    const masters = this.#cluster.masters.map(urlOf);
    const first = masters.length > 0 ? masters : this.#rootUrls.slice(0, 1);
    const all = [...new Set([...masters, ...this.#cluster.replicas.map(urlOf), ...this.#rootUrls.map((u) => new URL(u).href)])];
    return { first, all };
  }

  /** Waits (up to `commandTimeout`) for calls in flight, then drops the connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await within<unknown>(this.#client ? this.#client.close() : this.#cluster!.close(), this.#options.commandTimeout, 'Redis');
    } catch {
      this.#destroy();
    }
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new TesseraError('store_unavailable', 'the Redis store is closed');
    try {
      return await within(fn(), this.#options.commandTimeout, 'Redis');
    } catch (error) {
      if (this.#cluster) this.#rediscover();
      throw storeUnavailable(error, 'Redis');
    }
  }

  #rediscover(): void {
    const cluster = this.#cluster;
    const now = performance.now();
    if (!cluster || this.#closed || now - this.#lastRediscovery < 1000) return;
    this.#lastRediscovery = now;
    // `_slots.rediscover` is node-redis' own recovery path for MOVED (public, if underscored); it asks
    // this node first, then the root nodes. The cast only bridges the client's generic parameters.
    const any = cluster.masters.find((m) => m.client)?.client;
    if (any) cluster._slots.rediscover(any as never).catch(() => undefined);
  }

  #destroy(): void {
    this.#closed = true;
    try {
      if (this.#client) this.#client.destroy();
      else this.#cluster!.destroy();
    } catch {
      // Already closed.
    }
  }
}
