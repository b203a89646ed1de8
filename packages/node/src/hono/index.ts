/**
 * Tessera for Hono: route protection (`honoAuth`, the caller in `c.get('tessera')`) and the session API
 * mounted in the app (`honoSessionApi`). Requests and responses are the Fetch API's, so both run on any
 * runtime Hono runs on; the events WebSocket needs a Node server (`attach`, with @hono/node-server).
 */
import type { Server } from 'node:http';
import type { Context, MiddlewareHandler, NotFoundHandler } from 'hono';
import type { Engine } from '@tessera/core';
import {
  attachToServer,
  createHttpApi,
  readWebBody,
  type AttachOptions,
  type HttpApi,
  type HttpApiOptions,
  type HttpRequest,
  type HttpResponse,
  type Service,
} from '@tessera/server/http';
import { createAuthenticate, type ProtectOptions, type RouteRequirements, type TesseraAuth } from '../access.js';

/** For `new Hono<{ Variables: TesseraVariables }>()`: types `c.get('tessera')`. */
export type TesseraVariables = { tessera: TesseraAuth };

export interface HonoAuth {
  /** Middleware: `c.get('tessera')` for a valid access token, else the contract's 401/403/503. */
  protect(requirements?: RouteRequirements): MiddlewareHandler<{ Variables: TesseraVariables }>;
}

export function honoAuth(options: ProtectOptions): HonoAuth {
  const authenticate = createAuthenticate(options);
  // The cookie and CSRF headers are read only where the app accepts cookies: on @hono/node-server a
  // request's `authorization` is a plain property read, but `cookie` (a header Node joins its own
  // way) makes Hono copy and scan every raw header. (Getters instead would cost more than they save:
  // V8 builds an object literal with accessors slowly.)
  const cookies = Boolean(options.cookie);
  return {
    protect(requirements) {
      return async (c, next) => {
        const outcome = await authenticate(
          {
            method: c.req.method,
            authorization: c.req.header('authorization'),
            cookie: cookies ? c.req.header('cookie') : undefined,
            csrf: cookies ? c.req.header('x-tessera-csrf') : undefined,
          },
          requirements,
        );
        if (!outcome.ok) return new Response(JSON.stringify(outcome.denial.body), { status: outcome.denial.status, headers: outcome.denial.headers });
        c.set('tessera', outcome.auth);
        await next();
      };
    },
  };
}

export interface HonoSessionApiOptions extends HttpApiOptions {
  /**
   * The client address of a request (for throttling and the session's `ip`). Default: the socket's
   * address on @hono/node-server (`c.env.incoming`), else empty. Behind a proxy, read it from the
   * header your proxy sets, and only from a proxy you trust.
   */
  clientAddress?: (c: Context) => string;
}

export interface HonoSessionApi {
  /** The engine the API serves (the app's, or the one built from `store`): give it to `honoAuth`. */
  readonly engine: Engine;
  readonly service: Service;
  /** Answers the contract's paths (any method) and passes every other request on. */
  readonly middleware: MiddlewareHandler;
  /** For `app.notFound(...)`: the contract's 404 for every path nothing else answered. */
  readonly notFound: NotFoundHandler;
  /** The events WebSocket (and contract answers to unparsable requests) on the Node server. */
  attach(server: Server, options?: AttachOptions): () => void;
  /** Stops the API (503 from now on, sockets closed), and the engine if the API built it. */
  close(): Promise<void>;
}

/**
 * The public endpoints of the contract (login, refresh, logout, password, sessions, events, JWKS; the
 * admin API with an `adminKey`; operations with `operations: true`) in the app's own Hono.
 */
export async function honoSessionApi(options: HonoSessionApiOptions): Promise<HonoSessionApi> {
  const api: HttpApi = await createHttpApi(options);
  const clientAddress = options.clientAddress ?? nodeSocketAddress;
  const answer = async (c: Context) => toWebResponse(await api.handle(toHttpRequest(c, clientAddress(c))));
  return {
    engine: api.engine,
    service: api.service,
    async middleware(c, next) {
      if (!api.owns(c.req.path)) return next();
      return answer(c);
    },
    notFound: answer,
    attach: (server, attachOptions) => attachToServer(api, server, attachOptions),
    close: () => api.close(),
  };
}

function nodeSocketAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? '';
}

function toHttpRequest(c: Context, ip: string): HttpRequest {
  const request = c.req.raw;
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return { method: request.method.toUpperCase(), url: url.pathname + url.search, headers, ip, readBody: (limit) => readWebBody(request, limit) };
}

function toWebResponse(response: HttpResponse): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const { body } = response;
  if (body === null || typeof body === 'string') return new Response(body, { status: response.status, headers });
  const iterator = body[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(encoder.encode(value));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(stream, { status: response.status, headers });
}
