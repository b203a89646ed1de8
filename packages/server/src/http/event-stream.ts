/**
 * A response body of server-sent events (WHATWG HTML §9.2): the route pushes text, the adapter pulls
 * it and writes it as it comes. When the client goes (or the adapter stops for any reason) it calls
 * `return()`, which runs the route's cleanup at once, even while no event is pending.
 */
import type { ResponseStream } from './types.js';

export class EventStream implements ResponseStream {
  readonly kind = 'stream';
  readonly #queue: string[] = [];
  readonly #closers: (() => void)[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  /** Queues a chunk (`event: ...\ndata: ...\n\n`); ignored once ended. */
  push(chunk: string): void {
    if (this.#ended) return;
    this.#queue.push(chunk);
    this.#wake?.();
  }

  /** Ends the stream after what is queued; runs the cleanup. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#wake?.();
    for (const close of this.#closers.splice(0)) close();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Runs `fn` when the stream ends, whoever ends it. */
  onEnd(fn: () => void): void {
    if (this.#ended) fn();
    else this.#closers.push(fn);
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return {
      next: async () => {
        for (;;) {
          const chunk = this.#queue.shift();
          if (chunk !== undefined) return { done: false, value: chunk };
          if (this.#ended) return { done: true, value: undefined };
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = undefined;
        }
      },
      return: async () => {
        this.#queue.length = 0;
        this.end();
        return { done: true, value: undefined };
      },
    };
  }
}
