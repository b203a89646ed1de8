import { LocalRevocationFeed, safely, type FeedListener, type RevocationEntry, type RevocationFeed } from '@tessera/core';

/**
 * The SQLite store's revocation feed. Revocations this handle commits are published in-process right
 * after the commit (a `LocalRevocationFeed`); those committed by other handles on the same file —
 * other processes — arrive when the store polls the revocations table, and are published the same way.
 *
 * Heartbeats come from the local feed's timer but reach listeners only while the last poll succeeded:
 * a handle that can no longer read the table cannot see other processes' revocations, so its
 * verifiers must find the feed stale (and check the store, or refuse) instead of trusting it. When
 * polling works again, listeners are told `connected` and back-fill what they may have missed.
 */
export class PolledRevocationFeed implements RevocationFeed {
  readonly heartbeatInterval: number;
  readonly #local: LocalRevocationFeed;
  readonly #listeners = new Set<FeedListener>();
  #polling = true;

  constructor(heartbeatInterval: number) {
    this.heartbeatInterval = heartbeatInterval;
    this.#local = new LocalRevocationFeed(heartbeatInterval);
  }

  subscribe(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    const stop = this.#local.subscribe({
      revoked: (entry) => listener.revoked(entry),
      heartbeat: () => {
        if (this.#polling) listener.heartbeat();
      },
      connected: () => listener.connected(),
    });
    return () => {
      this.#listeners.delete(listener);
      stop();
    };
  }

  /** Delivers committed revocations to this process's listeners. */
  publish(entries: readonly RevocationEntry[]): void {
    if (entries.length > 0) this.#local.publish(entries);
  }

  /** The revocations table was read: heartbeats flow (again). */
  polled(): void {
    if (this.#polling) return;
    this.#polling = true;
    for (const listener of this.#listeners) safely(() => listener.connected());
  }

  /** The revocations table could not be read: heartbeats stop until a poll succeeds. */
  pollFailed(): void {
    this.#polling = false;
  }

  close(): void {
    this.#listeners.clear();
    this.#local.close();
  }
}
