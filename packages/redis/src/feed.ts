/**
 * The revocation feed over Redis pub/sub. The store's scripts PUBLISH revocations on
 * `{prefix}feed` in the same atomic step as the write; every store on the prefix PUBLISHes a
 * heartbeat there every `heartbeatInterval` from its command connection. Hearing anything on a
 * subscriber connection (a heartbeat from any process, or a revocation) proves the whole path, so
 * a verifier that hears nothing for longer than its bound stops trusting the feed (it falls back).
 *
 * A subscribed connection can run no other command, so subscribers are connections of their own:
 * one on a single Redis; one per master on a cluster. Any cluster node relays every PUBLISH, but
 * through the cluster bus, which now and then holds a message for ~40 ms (redis/redis#11869); the
 * script PUBLISHes on the master of its slot, so the subscriber on that master hears it at once.
 * The others hear it again through the bus: revocations are de-duplicated. Each subscriber that
 * stays unreachable moves on to the next node. Whenever one is (re)subscribed, listeners are told
 * `connected()` and back-fill what they may have missed from `revocationsSince`.
 */
import { createClient } from 'redis';
import { REVOKE_REASONS, safely, type FeedListener, type RevocationEntry, type RevocationFeed } from '@tessera/core';
import { reconnectDelay, within } from './connection.js';

export const HEARTBEAT = 'heartbeat';

export interface RedisFeedOptions {
  channel: string;
  heartbeatInterval: number;
  commandTimeout: number;
  /** One URL per subscriber to start with (one per master), then every node they may move on to. */
  nodeUrls: () => { first: string[]; all: string[] };
  /** PUBLISHes a heartbeat on the command connection. */
  publishHeartbeat: () => Promise<unknown>;
}

/** Reconnection attempts on one node before a subscriber tries the next one (when there is one). */
const ATTEMPTS_PER_NODE = 3;
/** Revocations remembered to drop the copies other subscribers hear. */
const SEEN = 10_000;

export class RedisRevocationFeed implements RevocationFeed {
  readonly heartbeatInterval: number;
  readonly #o: RedisFeedOptions;
  readonly #listeners = new Set<FeedListener>();
  readonly #subscribers: Subscriber[] = [];
  readonly #seen = new Set<string>();
  #started = false;
  #closed = false;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #heartbeatInFlight = false;

  constructor(options: RedisFeedOptions) {
    this.#o = options;
    this.heartbeatInterval = options.heartbeatInterval;
  }

  /** Whether at least one subscriber is subscribed right now. */
  get subscribed(): boolean {
    return this.#subscribers.some((s) => s.live);
  }

  subscribe(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    if (!this.#closed && !this.#started) this.#start();
    else if (this.subscribed) {
      queueMicrotask(() => {
        if (this.#listeners.has(listener)) safely(() => listener.connected());
      });
    }
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops the heartbeat and drops the subscriber connections. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    clearInterval(this.#heartbeatTimer);
    for (const subscriber of this.#subscribers) subscriber.close();
  }

  /** Handles one message of the channel; anything malformed is ignored (it proves nothing). */
  #receive(message: string): void {
    if (message === HEARTBEAT) {
      for (const listener of this.#listeners) safely(() => listener.heartbeat());
      return;
    }
    for (const entry of parseEntries(message)) {
      const id = `${entry.sid}|${entry.at}`;
      if (this.#seen.has(id)) continue;
      this.#seen.add(id);
      if (this.#seen.size > SEEN) this.#seen.delete(this.#seen.values().next().value!);
      for (const listener of this.#listeners) safely(() => listener.revoked(entry));
    }
  }

  #start(): void {
    this.#started = true;
    this.#heartbeatTimer = setInterval(() => this.#beat(), this.heartbeatInterval);
    this.#heartbeatTimer.unref();
    const { first } = this.#o.nodeUrls();
    for (const url of first) {
      const subscriber = new Subscriber(this.#o, url, {
        message: (m) => this.#receive(m),
        connected: () => this.#connected(),
        nodes: () => this.#o.nodeUrls().all,
      });
      this.#subscribers.push(subscriber);
      subscriber.connect();
    }
  }

  /** One heartbeat at a time: a silent Redis must not collect a backlog of them. */
  #beat(): void {
    if (this.#heartbeatInFlight || this.#closed) return;
    this.#heartbeatInFlight = true;
    this.#o
      .publishHeartbeat()
      .catch(() => undefined)
      .finally(() => (this.#heartbeatInFlight = false));
  }

  #connected(): void {
    if (this.#closed) return;
    for (const listener of this.#listeners) safely(() => listener.connected());
    // Speak at once: listeners (and other processes) need not wait a whole interval to hear the feed.
    this.#beat();
  }
}

interface SubscriberEvents {
  message(message: string): void;
  connected(): void;
  /** Where a subscriber may move on to. */
  nodes(): string[];
}

/** One subscribed connection, which reconnects, and moves to the next node when its own stays down. */
class Subscriber {
  readonly #o: RedisFeedOptions;
  readonly #on: SubscriberEvents;
  #url: string;
  #client: ReturnType<typeof createClient> | undefined;
  #generation = 0;
  #closed = false;
  live = false;

  constructor(options: RedisFeedOptions, url: string, on: SubscriberEvents) {
    this.#o = options;
    this.#url = url;
    this.#on = on;
  }

  connect(): void {
    if (this.#closed) return;
    const generation = ++this.#generation;
    const nodes = this.#on.nodes();
    const moveOn = () => {
      if (generation !== this.#generation || this.#closed) return;
      this.#drop();
      const next = nodes[(nodes.indexOf(this.#url) + 1) % nodes.length];
      if (next !== undefined) this.#url = next;
      setTimeout(() => this.connect(), reconnectDelay(0)).unref();
    };
    const client = createClient({
      url: this.#url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.#o.commandTimeout,
        // Nothing is written on a subscribed connection, so no data for this long means the server
        // (or the path to it) is gone: drop the socket and reconnect, rather than wait for TCP.
        socketTimeout: Math.max(3 * this.#o.heartbeatInterval, 3000),
        reconnectStrategy: (retries: number) => {
          if (generation !== this.#generation || this.#closed) return false;
          if (nodes.length > 1 && retries >= ATTEMPTS_PER_NODE) {
            queueMicrotask(moveOn);
            return false;
          }
          return reconnectDelay(retries);
        },
      },
    });
    this.#client = client;
    /** Set once this client has subscribed: a later 'ready' is then a re-subscription. */
    let subscribedOnce = false;
    client.on('error', () => {
      if (generation === this.#generation) this.live = false;
    });
    // node-redis re-subscribes before it reports 'ready' again, so 'ready' after the first
    // subscription means the channel is live again: anything published from now on arrives.
    client.on('ready', () => {
      if (subscribedOnce && generation === this.#generation) this.#connected();
    });
    const subscribing = client.connect().then(() => client.subscribe(this.#o.channel, (message) => this.#on.message(message)));
    within(subscribing, Math.max(this.#o.commandTimeout, 5_000), 'the Redis subscriber').then(() => {
      if (generation !== this.#generation) return;
      subscribedOnce = true;
      this.#connected();
    }, moveOn);
  }

  close(): void {
    this.#closed = true;
    this.#drop();
  }

  #connected(): void {
    if (this.#closed) return;
    this.live = true;
    this.#on.connected();
  }

  #drop(): void {
    this.live = false;
    const client = this.#client;
    this.#client = undefined;
    this.#generation++;
    if (!client) return;
    try {
      client.destroy();
    } catch {
      // Already closed by its reconnect strategy.
    }
  }
}

function parseEntries(message: string): RevocationEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.filter(
    (e): e is RevocationEntry =>
      typeof e === 'object' &&
      e !== null &&
      typeof e.sid === 'string' &&
      typeof e.userId === 'string' &&
      REVOKE_REASONS.includes(e.reason) &&
      typeof e.at === 'number' &&
      Number.isFinite(e.at),
  );
}
