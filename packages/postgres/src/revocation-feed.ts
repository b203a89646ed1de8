/**
 * The revocation feed over LISTEN/NOTIFY. Stores NOTIFY each revocation inside the transaction that
 * makes it (PostgreSQL delivers it at commit, and never if the transaction rolls back); this feed
 * LISTENs on one dedicated connection per store, opened when the first subscriber arrives.
 *
 * - **Heartbeats.** While it listens, the feed NOTIFYs a heartbeat on its own connection every
 *   `heartbeatInterval`; every feed on the database hears every heartbeat, and hearing one proves the
 *   whole path (server, notification queue, connection). Silence is then meaningful: the verifier
 *   falls back after `feedStaleAfter`, and the feed itself drops a connection that has heard nothing
 *   for three intervals, or whose heartbeat failed, and reconnects.
 * - **Reconnect.** A lost connection is reopened with exponential backoff and jitter, forever, until
 *   the store closes. Each time LISTEN succeeds, every subscriber is told `connected()`, so that it
 *   back-fills what was revoked while nobody was listening.
 */
import { REVOKE_REASONS, safely, type FeedListener, type RevocationEntry, type RevocationFeed } from '@tessera/core';
import pg from 'pg';
import { quoteIdentifier } from './sql.js';

/** The payload of a heartbeat notification; revocations are JSON objects. */
const HEARTBEAT = 'h';
const MIN_RECONNECT_DELAY = 100;
/** A connection is dropped after three heartbeat intervals of silence, and never after less than this. */
const SILENCE_FLOOR = 1000;

export interface PostgresFeedOptions {
  /** Connection settings of the listening client (the store's, minus the pool). */
  client: pg.ClientConfig;
  channel: string;
  heartbeatInterval: number;
  /** Upper bound of the reconnect backoff. */
  maxReconnectDelay: number;
}

export class PostgresRevocationFeed implements RevocationFeed {
  readonly heartbeatInterval: number;
  readonly #o: PostgresFeedOptions;
  readonly #listeners = new Set<FeedListener>();
  /** The listening connection, once LISTEN has succeeded. */
  #client: pg.Client | undefined;
  /** Bumped whenever the current attempt or connection is abandoned; stale callbacks compare it. */
  #generation = 0;
  #running = false;
  #failures = 0;
  #lastHeard = 0;
  #beating = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: PostgresFeedOptions) {
    this.#o = options;
    this.heartbeatInterval = options.heartbeatInterval;
  }

  /** Whether the listening connection is up (for health reporting and tests). */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  subscribe(listener: FeedListener): () => void {
    if (this.#closed) return () => {};
    this.#listeners.add(listener);
    if (this.#client) {
      queueMicrotask(() => {
        if (this.#listeners.has(listener)) safely(() => listener.connected());
      });
    } else if (!this.#running) {
      this.#running = true;
      void this.#connect();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** Stops listening for good. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#stop();
  }

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    const client = new pg.Client(this.#o.client);
    // Errors after connect arrive as events; without a handler they would crash the process.
    client.on('error', () => this.#lost(client, generation));
    client.on('end', () => this.#lost(client, generation));
    client.on('notification', (message) => {
      if (generation === this.#generation && message.channel === this.#o.channel) this.#deliver(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdentifier(this.#o.channel)}`);
    } catch {
      this.#lost(client, generation);
      return;
    }
    if (generation !== this.#generation) {
      void client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#failures = 0;
    this.#lastHeard = performance.now();
    this.#heartbeatTimer = setInterval(() => this.#beat(client, generation), this.heartbeatInterval);
    this.#heartbeatTimer.unref();
    this.#beat(client, generation);
    for (const listener of [...this.#listeners]) safely(() => listener.connected());
  }

  #beat(client: pg.Client, generation: number): void {
    if (generation !== this.#generation) return;
    if (performance.now() - this.#lastHeard > Math.max(3 * this.heartbeatInterval, SILENCE_FLOOR)) {
      this.#lost(client, generation);
      return;
    }
    // One heartbeat at a time: a slow server must not pile queries up on the connection.
    if (this.#beating) return;
    this.#beating = true;
    client.query('SELECT pg_notify($1, $2)', [this.#o.channel, HEARTBEAT]).then(
      () => {
        if (generation === this.#generation) this.#beating = false;
      },
      () => this.#lost(client, generation),
    );
  }

  #deliver(payload: string | undefined): void {
    this.#lastHeard = performance.now();
    if (payload === HEARTBEAT) {
      for (const listener of [...this.#listeners]) safely(() => listener.heartbeat());
      return;
    }
    const entry = parseEntry(payload);
    if (entry) for (const listener of [...this.#listeners]) safely(() => listener.revoked(entry));
  }

  /** The connection of `generation` failed: drop it and, if anyone still listens, reconnect. */
  #lost(client: pg.Client, generation: number): void {
    // Not a goodbye: on a silent network a graceful end would wait forever. Drop the socket.
    void client.end().catch(() => undefined);
    client.connection.stream.destroy();
    if (generation !== this.#generation) return;
    this.#generation++;
    this.#client = undefined;
    this.#beating = false;
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
    if (this.#running) this.#retry();
  }

  #retry(): void {
    if (this.#retryTimer || this.#closed) return;
    const ceiling = Math.min(this.#o.maxReconnectDelay, MIN_RECONNECT_DELAY * 2 ** this.#failures);
    this.#failures = Math.min(this.#failures + 1, 30);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#running) void this.#connect();
    }, delay);
    this.#retryTimer.unref();
  }

  #stop(): void {
    this.#running = false;
    this.#generation++;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#heartbeatTimer);
    this.#retryTimer = undefined;
    this.#heartbeatTimer = undefined;
    const client = this.#client;
    this.#client = undefined;
    this.#failures = 0;
    this.#beating = false;
    if (client) void client.end().catch(() => undefined);
  }
}

/** The NOTIFY payload of a revocation. */
export function entryPayload(entry: RevocationEntry): string {
  return JSON.stringify({ sid: entry.sid, userId: entry.userId, reason: entry.reason, at: entry.at });
}

/** A revocation from a payload, or `null` for anything that is not one (never trusted blindly). */
function parseEntry(payload: string | undefined): RevocationEntry | null {
  if (!payload || payload[0] !== '{') return null;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  const { sid, userId, reason, at } = value as Record<string, unknown>;
  if (typeof sid !== 'string' || typeof userId !== 'string' || typeof at !== 'number' || !Number.isFinite(at)) return null;
  if (!REVOKE_REASONS.includes(reason as RevocationEntry['reason'])) return null;
  return { sid, userId, reason: reason as RevocationEntry['reason'], at };
}
