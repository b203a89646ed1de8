/**
 * Push of revocations: to the browser sockets of `GET /v1/events` and to the server-sent-event
 * streams of `GET /v1/admin/revocations/stream`.
 *
 * The one source is the store's revocation feed, which carries every revocation of every node that
 * shares the store (in-process for memory and SQLite, pub/sub on Redis, LISTEN/NOTIFY on PostgreSQL),
 * the revoking node's own included. So a device evicted by a login on node A is told by node B,
 * where its socket happens to be, within the feed's delay.
 *
 * Sockets stay open while their session is live, even after the access token they authenticated
 * with has expired: the socket only ever *receives* revocation notices about its own session, which
 * is what a client whose token expired still needs to hear. A revoked session's sockets are closed
 * (4001) the moment the feed says so; a session that merely expires is not announced.
 */
import type { WebSocket } from 'ws';
import type { RequestLog } from './http/types.js';
import type { Clock, RevocationEntry, SessionStore } from '@tessera/core';

/** Close code for "your session was revoked" (private-use range, RFC 6455 §7.4.2). */
export const CLOSE_REVOKED = 4001;
/** Close code for "not authenticated" (mirrors HTTP 401). */
export const CLOSE_UNAUTHENTICATED = 4401;
/** Close code when the service shuts down (RFC 6455 §7.4.1: going away). */
export const CLOSE_GOING_AWAY = 1001;

export interface RevocationNotice {
  type: 'session.revoked';
  sessionId: string;
  reason: string;
  at: number;
}

export interface RevocationStream {
  revoked(entry: RevocationEntry): void;
  /** The feed reconnected: revocations since it was last heard may have been missed. */
  resync(entries: RevocationEntry[]): void;
}

export interface RevocationHubOptions {
  store: SessionStore;
  clock: Clock;
  /** How long revocation entries are kept (and so how far back a resync reads). */
  retention: number;
  log: RequestLog;
  /** Ping interval of authenticated sockets; one missed pong closes the socket. Default 30 s. */
  pingInterval?: number;
}

export class RevocationHub {
  readonly #o: RevocationHubOptions;
  readonly #sockets = new Map<string, Set<WebSocket>>();
  readonly #alive = new WeakMap<WebSocket, boolean>();
  readonly #streams = new Set<RevocationStream>();
  readonly #unsubscribe: () => void;
  readonly #pinger: NodeJS.Timeout;
  #connections = 0;
  #closed = false;

  constructor(options: RevocationHubOptions) {
    this.#o = options;
    this.#unsubscribe = options.store.feed.subscribe({
      revoked: (entry) => this.#revoked(entry),
      heartbeat: () => undefined,
      connected: () => {
        // The first connection has nothing to catch up on; a reconnection may have missed revocations.
        if (this.#connections++ > 0) void this.#resync();
      },
    });
    this.#pinger = setInterval(() => this.#ping(), options.pingInterval ?? 30_000);
    this.#pinger.unref();
  }

  /** Sockets currently subscribed, for tests and `/healthz`. */
  get socketCount(): number {
    let n = 0;
    for (const set of this.#sockets.values()) n += set.size;
    return n;
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  /** Subscribes an authenticated socket to its session's revocation. */
  attach(sid: string, socket: WebSocket): void {
    if (this.#closed) {
      socket.close(CLOSE_GOING_AWAY, 'shutting down');
      return;
    }
    let set = this.#sockets.get(sid);
    if (!set) this.#sockets.set(sid, (set = new Set()));
    set.add(socket);
    this.#alive.set(socket, true);
    socket.on('pong', () => this.#alive.set(socket, true));
    socket.once('close', () => {
      const current = this.#sockets.get(sid);
      current?.delete(socket);
      if (current?.size === 0) this.#sockets.delete(sid);
    });
  }

  /** Tells one session's sockets that it is revoked, then closes them with 4001. */
  notify(entry: RevocationEntry): void {
    const set = this.#sockets.get(entry.sid);
    if (!set) return;
    this.#sockets.delete(entry.sid);
    const notice: RevocationNotice = { type: 'session.revoked', sessionId: entry.sid, reason: entry.reason, at: entry.at };
    const text = JSON.stringify(notice);
    for (const socket of set) {
      try {
        socket.send(text);
        socket.close(CLOSE_REVOKED, entry.reason);
      } catch (error) {
        this.#o.log.warn({ err: error }, 'could not notify a revoked session socket');
        socket.terminate();
      }
    }
  }

  addStream(stream: RevocationStream): () => void {
    this.#streams.add(stream);
    return () => this.#streams.delete(stream);
  }

  /** Stops listening; closes every socket with 1001. Streams are ended by their owners. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    clearInterval(this.#pinger);
    for (const set of this.#sockets.values()) for (const socket of set) socket.close(CLOSE_GOING_AWAY, 'shutting down');
    this.#sockets.clear();
  }

  #revoked(entry: RevocationEntry): void {
    this.notify(entry);
    for (const stream of this.#streams) {
      try {
        stream.revoked(entry);
      } catch (error) {
        this.#o.log.warn({ err: error }, 'a revocation stream failed');
      }
    }
  }

  async #resync(): Promise<void> {
    let entries: RevocationEntry[];
    try {
      entries = await this.#o.store.revocationsSince(this.#o.clock.now() - this.#o.retention);
    } catch (error) {
      this.#o.log.warn({ err: error }, 'could not back-fill revocations after the feed reconnected');
      return;
    }
    for (const entry of entries) this.notify(entry);
    for (const stream of this.#streams) {
      try {
        stream.resync(entries);
      } catch (error) {
        this.#o.log.warn({ err: error }, 'a revocation stream failed');
      }
    }
  }

  #ping(): void {
    for (const set of this.#sockets.values()) {
      for (const socket of set) {
        if (this.#alive.get(socket) === false) {
          socket.terminate();
          continue;
        }
        this.#alive.set(socket, false);
        try {
          socket.ping();
        } catch {
          socket.terminate();
        }
      }
    }
  }
}
