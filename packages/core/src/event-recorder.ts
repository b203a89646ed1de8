import type { SessionEvent } from './events.js';
import type { SessionStore } from './store.js';

/**
 * Gives events to in-process subscribers at once, and appends them to the store's log in batches off
 * the request path (one `appendEvents` per tick, however many operations ran in it), so that an
 * operation costs one store round trip, not two. If the store is down the batch is kept (up to
 * `maxPending`, oldest dropped and counted) and retried with the next one.
 */
export class EventRecorder {
  readonly #store: SessionStore;
  readonly #maxPending: number;
  readonly #subscribers = new Set<(event: SessionEvent) => void>();
  #pending: SessionEvent[] = [];
  #flushing: Promise<void> | undefined;
  #scheduled = false;
  /** Events dropped because the store stayed down while more than `maxPending` were waiting. */
  dropped = 0;
  /** Last error from appending, for health reporting. */
  lastError: unknown;

  constructor(store: SessionStore, maxPending = 10_000) {
    this.#store = store;
    this.#maxPending = maxPending;
  }

  subscribe(fn: (event: SessionEvent) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  record(events: SessionEvent[]): void {
    if (events.length === 0) return;
    for (const event of events) {
      for (const fn of this.#subscribers) {
        try {
          fn(event);
        } catch (error) {
          process.emitWarning(`an event subscriber threw: ${String(error)}`, 'TesseraWarning');
        }
      }
    }
    this.#pending.push(...events);
    if (this.#pending.length > this.#maxPending) {
      this.dropped += this.#pending.length - this.#maxPending;
      this.#pending = this.#pending.slice(-this.#maxPending);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.flush();
      });
    }
  }

  /** Appends everything recorded so far; resolves when it is in the store (or the attempt failed). */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#flushing = this.#store.appendEvents(batch).then(
      () => {
        this.lastError = undefined;
      },
      (error: unknown) => {
        this.lastError = error;
        this.#pending = [...batch, ...this.#pending].slice(-this.#maxPending);
      },
    );
    try {
      await this.#flushing;
    } finally {
      this.#flushing = undefined;
    }
  }
}
