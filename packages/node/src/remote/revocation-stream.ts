/**
 * The service's revocation feed, for verifiers in other processes: a `RevocationFeed` (core's feed.ts)
 * over `GET /v1/admin/revocations/stream`, the service's server-sent-event stream (WHATWG HTML §9.2).
 *
 * - Every `revoked` event goes to the listeners at once; `heartbeat` and `ready` events prove the
 *   stream alive, so a verifier can tell silence from calm.
 * - `connected()` is told whenever a stream opens (the first time and after every reconnection): the
 *   verifier then back-fills what it may have missed from `/v1/admin/revocations`. A reconnection also
 *   sends `Last-Event-ID` (the `at` of the last revocation seen), so the stream itself replays the gap.
 * - A stream that says nothing for `silenceTimeout` is dropped and opened again: a connection that a
 *   network middlebox silently dropped never ends by itself.
 * - Reconnections back off exponentially with jitter (from `minBackoff` to `maxBackoff`), so a fleet of
 *   verifiers does not hammer a service that is restarting, and reset after a stream is back.
 */
import { REVOKE_REASONS, safely, type FeedListener, type RevocationEntry, type RevocationFeed } from '@tessera/core';

export interface RevocationStreamOptions {
  url: string;
  adminKey: string;
  fetch: typeof fetch;
  /** The service's heartbeat interval (informational: the verifier's staleness bound is its own). */
  heartbeatInterval: number;
  silenceTimeout: number;
  /** For opening the stream (until its headers arrive), ms. */
  connectTimeout: number;
  minBackoff: number;
  maxBackoff: number;
  onError: (error: unknown) => void;
}


export class RevocationStream implements RevocationFeed {
  readonly heartbeatInterval: number;
  readonly #o: RevocationStreamOptions;
  readonly #listeners = new Set<FeedListener>();
  #controller: AbortController | undefined;
  #running = false;
  #lastEventId: string | undefined;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #connected = false;

  constructor(options: RevocationStreamOptions) {
    this.#o = options;
    this.heartbeatInterval = options.heartbeatInterval;
  }

  /** Whether a stream is open right now. */
  get connected(): boolean {
    return this.#connected;
  }

  subscribe(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    if (!this.#running) {
      this.#running = true;
      void this.#loop();
    } else if (this.#connected) {
      queueMicrotask(() => this.#listeners.has(listener) && safely(() => listener.connected()));
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.close();
    };
  }

  close(): void {
    this.#running = false;
    this.#connected = false;
    clearTimeout(this.#retryTimer);
    this.#controller?.abort();
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      try {
        await this.#connect();
      } catch (error) {
        if (this.#running) this.#o.onError(error);
      }
      this.#connected = false;
      if (!this.#running) return;
      const delay = Math.min(this.#o.maxBackoff, this.#o.minBackoff * 2 ** this.#failures++);
      // Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"), never below half the delay.
      await new Promise<void>((resolve) => {
        this.#retryTimer = setTimeout(resolve, delay / 2 + Math.random() * (delay / 2));
        this.#retryTimer.unref();
      });
    }
  }

  async #connect(): Promise<void> {
    const controller = new AbortController();
    this.#controller = controller;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#o.adminKey}`, accept: 'text/event-stream', 'cache-control': 'no-store' };
    if (this.#lastEventId !== undefined) headers['last-event-id'] = this.#lastEventId;
    const opening = setTimeout(() => controller.abort(new Error(`the revocation stream did not open within ${this.#o.connectTimeout} ms`)), this.#o.connectTimeout);
    let response: Response;
    try {
      response = await this.#o.fetch(this.#o.url, { headers, signal: controller.signal });
    } finally {
      clearTimeout(opening);
    }
    if (response.status !== 200 || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream') || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error(`the revocation stream answered HTTP ${response.status}`);
    }
    let watchdog: NodeJS.Timeout | undefined;
    const quiet = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(new Error(`the revocation stream was silent for ${this.#o.silenceTimeout} ms`)), this.#o.silenceTimeout);
      watchdog.unref();
    };
    quiet();
    this.#connected = true;
    this.#emit((l) => l.connected());
    const parser = new SseParser((event) => this.#dispatch(event));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        quiet();
        parser.push(value);
      }
    } finally {
      clearTimeout(watchdog);
      await reader.cancel().catch(() => undefined);
    }
    if (this.#running) throw new Error('the revocation stream ended');
  }

  #dispatch(event: { event: string; data: string; id: string | undefined }): void {
    switch (event.event) {
      case 'revoked': {
        const entry = parseEntry(event.data);
        if (!entry) {
          this.#o.onError(new Error('the revocation stream sent a malformed entry'));
          return;
        }
        if (event.id !== undefined) this.#lastEventId = event.id;
        this.#emit((l) => l.revoked(entry));
        return;
      }
      case 'ready':
        this.#failures = 0;
        this.#emit((l) => l.heartbeat());
        return;
      case 'heartbeat':
        this.#emit((l) => l.heartbeat());
        return;
      case 'error':
        this.#controller?.abort(new Error(`the service ended the revocation stream: ${event.data}`));
        return;
    }
  }

  #emit(fn: (listener: FeedListener) => void): void {
    for (const listener of this.#listeners) safely(() => fn(listener));
  }
}

function parseEntry(data: string): RevocationEntry | null {
  try {
    return checkEntry(JSON.parse(data));
  } catch {
    return null;
  }
}

/** A revocation entry from the service, checked field by field; `null` for anything else. */
export function checkEntry(raw: unknown): RevocationEntry | null {
  const value = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<RevocationEntry>;
  if (typeof value.sid !== 'string' || !value.sid || typeof value.userId !== 'string' || typeof value.at !== 'number' || !Number.isFinite(value.at)) return null;
  if (typeof value.reason !== 'string' || !REVOKE_REASONS.includes(value.reason)) return null;
  return { sid: value.sid, userId: value.userId, reason: value.reason, at: value.at };
}

/**
 * The event-stream format (WHATWG HTML §9.2.6): lines end with CRLF, LF or CR; a blank line
 * dispatches; `data` lines accumulate (joined with LF); lines starting with `:` are comments; a field
 * without a colon is a field with an empty value.
 */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | undefined;
  #sawCr = false;
  readonly #dispatch: (event: { event: string; data: string; id: string | undefined }) => void;

  constructor(dispatch: (event: { event: string; data: string; id: string | undefined }) => void) {
    this.#dispatch = dispatch;
  }

  push(text: string): void {
    for (const char of text) {
      if (this.#sawCr) {
        this.#sawCr = false;
        if (char === '\n') continue;
      }
      if (char === '\r' || char === '\n') {
        this.#sawCr = char === '\r';
        this.#line(this.#buffer);
        this.#buffer = '';
      } else {
        this.#buffer += char;
      }
    }
  }

  #line(line: string): void {
    if (line === '') {
      // An event with no data is not dispatched (§9.2.6, "dispatch the event", step 2).
      if (this.#data.length > 0) this.#dispatch({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id });
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
  }
}
