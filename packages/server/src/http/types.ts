/**
 * The framework-free shape of one HTTP exchange, as the contract's core sees it. An adapter (the
 * Fastify service, the Express and Hono mounts of @tessera/node) turns its framework's request into
 * an `HttpRequest` and writes the `HttpResponse` back: that is all an adapter does.
 */

/** Request headers as Node gives them: lower-case names; repeated headers as arrays (cookie joined). */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface HttpRequest {
  /** Upper case, e.g. `POST`. */
  method: string;
  /** Path and query as received (`/v1/sessions?x=1`), relative to where the API is mounted. */
  url: string;
  headers: RequestHeaders;
  /** The client address, as the adapter's framework decided it (its proxy-trust settings apply). */
  ip: string;
  /**
   * Reads the whole body, at most `limit` bytes: rejects with `payload_too_large` past it (before
   * reading when Content-Length says so). Called at most once, and only when the route wants a body.
   */
  readBody(limit: number): Promise<Buffer>;
  /** The request's logger (the framework's, with its bindings); the API's default otherwise. */
  log?: RequestLog;
}

/** A stream of server-sent events: the adapter writes each chunk as it comes and calls `return()` when the client goes. */
export interface ResponseStream extends AsyncIterable<string> {
  readonly kind: 'stream';
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; `set-cookie` may hold several values. */
  headers: Record<string, string | string[]>;
  /** Serialized body (JSON or text), a stream, or null for none. */
  body: string | ResponseStream | null;
}

/** What the core logs through (pino's signature; Fastify's request logger is one). */
export interface RequestLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLog: RequestLog = { info() {}, warn() {}, error() {} };

/** Warnings and errors to the console, nothing else: the default where an app gives no logger. */
export const consoleLog: RequestLog = {
  info() {},
  warn: (obj, msg) => console.warn(`tessera: ${msg ?? ''}`, obj),
  error: (obj, msg) => console.error(`tessera: ${msg ?? ''}`, obj),
};

/** The first value of a header (`string[]` only happens for headers Node does not join). */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
