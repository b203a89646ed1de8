import type { RevocationEntry } from './session.js';

/**
 * What a revocation feed tells a subscriber. `revoked` and `heartbeat` both prove the feed is alive;
 * a feed sends a heartbeat at least every `heartbeatInterval` so that silence can be told from calm.
 */
export interface FeedListener {
  revoked(entry: RevocationEntry): void;
  heartbeat(): void;
  /**
   * The feed (re)connected after being down (or connected for the first time): revocations may have
   * been missed, so the subscriber back-fills from `SessionStore.revocationsSince`.
   */
  connected(): void;
}

/** Delivers revocations to every verifier of every process that shares the store. */
export interface RevocationFeed {
  /** Milliseconds between heartbeats while the feed is healthy. */
  readonly heartbeatInterval: number;
  /** Starts delivering to `listener`; the returned function stops. Never throws. */
  subscribe(listener: FeedListener): () => void;
}

/**
 * The in-process feed: the memory and SQLite stores publish to it after their write commits.
 * Heartbeats come from a timer that never keeps the process alive.
 */
export class LocalRevocationFeed implements RevocationFeed {
  readonly heartbeatInterval: number;
  readonly #listeners = new Set<FeedListener>();
  #timer: NodeJS.Timeout | undefined;

  constructor(heartbeatInterval = 1000) {
    this.heartbeatInterval = heartbeatInterval;
  }

  subscribe(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.heartbeat(), this.heartbeatInterval);
      this.#timer.unref();
    }
    queueMicrotask(() => {
      if (this.#listeners.has(listener)) safely(() => listener.connected());
    });
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  publish(entries: Iterable<RevocationEntry>): void {
    for (const entry of entries) for (const listener of this.#listeners) safely(() => listener.revoked(entry));
  }

  heartbeat(): void {
    for (const listener of this.#listeners) safely(() => listener.heartbeat());
  }

  close(): void {
    this.#listeners.clear();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** A listener's bug must not break the feed for the others, nor crash the process: it is reported. */
export function safely(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    process.emitWarning(`a revocation feed listener threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`, 'TesseraWarning');
  }
}
