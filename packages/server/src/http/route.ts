/**
 * A route of the contract, as data: method, path, JSON Schemas (validation, serialization and the
 * OpenAPI document all come from them) and framework-free hooks and handler. The reply the handler
 * sees is a small builder of the response, shaped like Fastify's so that handlers read naturally.
 */
import type { WebSocket } from 'ws';
import type { CookieAttributes } from './cookies.js';
import { serializeCookie } from './cookies.js';
import type { RequestHeaders, RequestLog, ResponseStream } from './types.js';

export type Method = 'GET' | 'POST' | 'DELETE';

export interface RouteSchema {
  tags?: string[];
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  body?: object;
  params?: object;
  querystring?: object;
  /** By status: `200`, `204`, ..., or `4xx` / `5xx` for a class. */
  response?: Record<string, object>;
  produces?: string[];
  /** Left out of the OpenAPI document. */
  hide?: boolean;
}

/** A request as routes see it: validated `body`, `params` and `query`, parsed cookies. */
export interface RouteRequest<Body = unknown, Params = Record<string, string>, Query = Record<string, string>> {
  method: string;
  /** Path and query, relative to the mount. */
  url: string;
  /** Path without the query, relative to the mount. */
  path: string;
  headers: RequestHeaders;
  ip: string;
  cookies: Record<string, string>;
  params: Params;
  query: Query;
  body: Body;
  log: RequestLog;
}

export type Hook<R extends RouteRequest<any, any, any> = RouteRequest> = (request: R, reply: Reply) => void | Promise<void>;

export interface Route<B = any, P = any, Q = any> {
  method: Method;
  /** `/v1/sessions/:id`: literal segments and `:name` parameters. */
  url: string;
  schema: RouteSchema;
  /** Before the body is read (authentication, CSRF proofs that need no body). */
  onRequest?: Hook<RouteRequest<undefined, P, Q>>[];
  /** After validation, before the handler. */
  preHandler?: Hook<RouteRequest<B, P, Q>>[];
  /** Returns the payload (serialized with the response schema), or the reply after `send`. */
  handler(request: RouteRequest<B, P, Q>, reply: Reply): unknown;
  /** For a WebSocket route: the socket, once the upgrade is accepted. */
  websocket?(socket: WebSocket, request: RouteRequest<undefined, P, Q>): void;
}

/** Defines a route with typed body, params and query (the types are the schema's, written by hand). */
export function route<B = unknown, P = Record<string, string>, Q = Record<string, string>>(definition: Route<B, P, Q>): Route<B, P, Q> {
  return definition;
}

export class Reply {
  statusCode = 200;
  readonly headers: Record<string, string | string[]> = {};
  sent = false;
  payload: unknown;
  stream: ResponseStream | undefined;

  code(status: number): this {
    this.statusCode = status;
    return this;
  }

  header(name: string, value: string): this {
    this.headers[name.toLowerCase()] = value;
    return this;
  }

  type(contentType: string): this {
    return this.header('content-type', contentType);
  }

  setCookie(name: string, value: string, attributes: CookieAttributes): this {
    const cookie = serializeCookie(name, value, attributes);
    const held = this.headers['set-cookie'];
    this.headers['set-cookie'] = held === undefined ? [cookie] : [...(Array.isArray(held) ? held : [held]), cookie];
    return this;
  }

  /** RFC 6265bis §3.1: a cookie is removed by setting it again, expired, with the same name, path and flags. */
  clearCookie(name: string, attributes: Omit<CookieAttributes, 'maxAge' | 'expires'>): this {
    return this.setCookie(name, '', { ...attributes, maxAge: 0, expires: new Date(0) });
  }

  send(payload?: unknown): this {
    this.sent = true;
    this.payload = payload;
    return this;
  }

  /** Answers with a stream of server-sent events (the status and headers as set). */
  sendStream(stream: ResponseStream): this {
    this.sent = true;
    this.stream = stream;
    return this;
  }
}

interface Compiled {
  route: Route;
  segments: string[];
}

/** Matches paths to routes: literal segments and `:param` segments, nothing fancier. */
export class Router {
  readonly #routes: Compiled[] = [];
  /** Routes without parameters, by path (most requests): a map lookup instead of a scan. */
  readonly #literal = new Map<string, Route[]>();

  add(route: Route): void {
    this.#routes.push({ route, segments: route.url.split('/').slice(1) });
    if (!route.url.includes(':')) {
      const held = this.#literal.get(route.url);
      if (held) held.push(route);
      else this.#literal.set(route.url, [route]);
    }
  }

  get routes(): readonly Route[] {
    return this.#routes.map((r) => r.route);
  }

  /**
   * The route of `method` and `path` (HEAD finds GET routes) with its decoded parameters, or, when
   * the path is known under other methods only, `{ route: null, known: true }`.
   */
  find(method: string, path: string): { route: Route; params: Record<string, string> } | { route: null; known: boolean } {
    const literal = this.#literal.get(path);
    if (literal) {
      const route = literal.find((r) => r.method === method || (method === 'HEAD' && r.method === 'GET'));
      if (route) return { route, params: {} };
    }
    const segments = path.split('/').slice(1);
    let known = literal !== undefined;
    for (const compiled of this.#routes) {
      const params = matchSegments(compiled.segments, segments);
      if (!params) continue;
      known = true;
      if (compiled.route.method === method || (method === 'HEAD' && compiled.route.method === 'GET')) return { route: compiled.route, params };
    }
    return { route: null, known };
  }
}

/** The longest path parameter the router matches, as received (percent-encoded); longer ones are 404. */
export const MAX_PARAM_LENGTH = 300;

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | null {
  if (pattern.length !== actual.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const got = actual[i]!;
    if (want.startsWith(':')) {
      if (got === '' || got.length > MAX_PARAM_LENGTH) return null;
      let decoded: string;
      try {
        decoded = decodeURIComponent(got);
      } catch {
        return null;
      }
      params[want.slice(1)] = decoded;
    } else if (want !== got) {
      return null;
    }
  }
  return params;
}
