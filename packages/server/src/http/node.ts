/**
 * Node's `http` glue shared by the adapters that run on Node (the Fastify service, the Express and
 * Fastify mounts, Hono on @hono/node-server): an `IncomingMessage` as an `HttpRequest`, an
 * `HttpResponse` onto a `ServerResponse`, and the server-level hooks (WebSocket upgrades, requests
 * Node cannot parse).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { clientErrorHandler } from '../contract-errors.js';
import type { HttpApi } from './api.js';
import { readNodeBody } from './body.js';
import type { HttpRequest, HttpResponse, RequestLog } from './types.js';

export interface NodeRequestOptions {
  /** The client address as the framework decided it (its proxy settings). Default: the socket's. */
  ip?: string;
  /** The URL relative to where the API is mounted. Default: `req.url`. */
  url?: string;
  log?: RequestLog;
  /**
   * A body another middleware already read (Express's `req.body` after a body parser): a Buffer or
   * string is used as it is, an object as its JSON. Mount the API before body parsers to avoid this.
   */
  parsedBody?: unknown;
}

export function nodeRequest(req: IncomingMessage, options: NodeRequestOptions = {}): HttpRequest {
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    url: options.url ?? req.url ?? '/',
    headers: req.headers,
    ip: options.ip ?? req.socket.remoteAddress ?? '',
    ...(options.log ? { log: options.log } : {}),
    readBody(limit) {
      const parsed = options.parsedBody;
      if (parsed !== undefined && req.readableEnded) {
        const bytes = Buffer.isBuffer(parsed) ? parsed : Buffer.from(typeof parsed === 'string' ? parsed : JSON.stringify(parsed));
        return bytes.length > limit ? readNodeBody(req, { 'content-length': String(bytes.length) }, limit) : Promise.resolve(bytes);
      }
      return readNodeBody(req, req.headers, limit);
    },
  };
}

/** Writes the response; a stream is written as it comes and stopped when the client goes. */
export async function writeNodeResponse(res: ServerResponse, response: HttpResponse): Promise<void> {
  const { status, body } = response;
  const headers: Record<string, string | string[] | number> = { ...response.headers };
  if (body === null || typeof body === 'string') {
    if (body !== null) headers['content-length'] = Buffer.byteLength(body);
    else if (status !== 204 && status !== 304 && headers['content-length'] === undefined) headers['content-length'] = 0;
    res.writeHead(status, headers);
    res.end(body ?? undefined);
    return;
  }
  res.writeHead(status, headers);
  res.flushHeaders();
  const iterator = body[Symbol.asyncIterator]();
  const stop = () => void iterator.return?.();
  res.once('close', stop);
  try {
    for (;;) {
      const { done, value } = await iterator.next();
      if (done) break;
      if (!res.writableEnded && !res.destroyed) res.write(value);
    }
  } finally {
    res.off('close', stop);
    if (!res.writableEnded) res.end();
  }
}

export interface AttachOptions {
  /**
   * Answer requests Node's parser rejects (oversized headers, garbage) with the contract's JSON error
   * (431/400/408) instead of Node's empty reply. Applies to the whole server. Default true.
   */
  clientErrors?: boolean;
}

/**
 * Gives a Node server what a mounted API needs at the server level: the events WebSocket (upgrades of
 * other paths are left to the app's own handlers) and, by default, contract-shaped answers to requests
 * Node cannot parse. Returns a function that detaches both.
 */
export function attachToServer(api: HttpApi, server: Server, options: AttachOptions = {}): () => void {
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (api.upgrade(req, socket, head)) return;
    // Nobody else listens: Node would leave the socket open forever.
    if (server.listenerCount('upgrade') === 1) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  };
  server.on('upgrade', onUpgrade);
  const onClientError = (error: Error & { code?: string }, socket: Duplex) => clientErrorHandler(error, socket as Socket);
  if (options.clientErrors ?? true) server.on('clientError', onClientError);
  return () => {
    server.off('upgrade', onUpgrade);
    server.off('clientError', onClientError);
  };
}
