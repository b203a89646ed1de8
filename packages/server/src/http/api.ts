/**
 * The HTTP contract of the service (DESIGN "The HTTP contract of the service") with no web framework:
 * `handle(request) → response` for every endpoint, and `upgrade(req, socket, head)` for the events
 * WebSocket on a Node `http.Server`. The Fastify service (`buildServer`) and the Express, Fastify and
 * Hono mounts of @tessera/node are thin translations around it, so that one implementation, held by
 * one contract test suite, answers everywhere.
 *
 * What a request goes through, in order (the order is part of the contract: a CSRF failure is a 403
 * before the body is even read, a malformed body is a 400 before anything happens):
 *  1. response headers every answer carries (nosniff; no-store on auth, session and health paths);
 *     a closing API answers 503;
 *  2. CORS: only allowed origins get CORS headers, preflights of allowed origins are answered here;
 *  3. routing: unknown paths and methods are 404 `not_found`;
 *  4. the route's `onRequest` hooks (admin key, CSRF proofs that need no body);
 *  5. the body: JSON only (415 otherwise), at most `bodyLimit` bytes (413), parsed strictly (400);
 *  6. validation of params, body and query against the route schemas (400 `invalid_request`);
 *  7. the route's `preHandler` hooks, then its handler;
 *  8. serialization with the response schema.
 * Any failure becomes `status + {"error": {"code", "message"}}` (contract-errors.ts), keeping the
 * headers set so far (a cleared cookie, CORS headers).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  Engine,
  TesseraError,
  revocationRetention,
  systemClock,
  type Clock,
  type EngineOptions,
  type PolicyInput,
  type SessionStore,
} from '@tessera/core';
import { errorBody, toContractError } from '../contract-errors.js';
import { DEFAULT_LOGIN_LIMITS, LoginThrottle, type LoginLimits } from '../login-throttle.js';
import { ServiceMetrics } from '../metrics.js';
import type { ScryptParams } from '../password-hash.js';
import { RevocationHub, CLOSE_GOING_AWAY } from '../push.js';
import { adminRoutes } from '../routes/admin.js';
import { authRoutes } from '../routes/auth.js';
import { eventRoutes } from '../routes/events.js';
import { jwksRoutes, operationRoutes } from '../routes/operations.js';
import { sessionRoutes } from '../routes/sessions.js';
import type { Service } from '../service.js';
import { CSRF_HEADER, CsrfGuard } from '../transport.js';
import { UserDirectory } from '../users.js';
import { mediaType, parseJsonBody } from './body.js';
import { parseCookies } from './cookies.js';
import { openApiDocument } from './openapi.js';
import { Reply, Router, type Route, type RouteRequest } from './route.js';
import { SchemaCompiler, serializerFor, validate } from './schema-compiler.js';
import { consoleLog, headerValue, type HttpRequest, type HttpResponse, type RequestLog } from './types.js';

export interface HttpApiOptions {
  /**
   * The engine to serve. Give the app's own engine to share its verifier with route protection (a
   * logout through the API is then refused by the app's protected routes on the very next request);
   * it stays the app's to close. Without it, give `store`, `issuer` and `audience` and the API builds
   * (and closes) its own, with store timings in its metrics.
   */
  engine?: Engine;
  store?: SessionStore;
  issuer?: string;
  audience?: string | string[];
  policy?: PolicyInput;
  clock?: Clock;
  /** Passed to the engine the API builds (key rotation and sync intervals). */
  engineOptions?: Pick<EngineOptions, 'keyRotationInterval' | 'keyPublishLead' | 'keySyncInterval' | 'verifierCacheSize'>;
  /** Close the store with the engine the API built. Default true. */
  closeStore?: boolean;

  /** Admin API key (≥ 32 characters); `null`/absent: the admin API does not exist (404). */
  adminKey?: string | null;
  /** Origins (`https://app.example.com`) allowed for CORS and for cookie requests. Never `*`. */
  allowedOrigins?: readonly string[];
  loginLimits?: Partial<LoginLimits>;
  /** Lower scrypt parameters for tests only; the default is OWASP's. */
  passwordHashParams?: ScryptParams;
  /** Time a new /v1/events socket has to authenticate. Default 5 s. */
  websocketAuthTimeout?: number;
  /** Heartbeat interval of /v1/admin/revocations/stream. Default 2 s. */
  sseHeartbeatInterval?: number;
  /** Largest accepted request body. Default 16 KiB. */
  bodyLimit?: number;
  /** Also serve /healthz, /readyz, /metrics and /openapi.json. Default false. */
  operations?: boolean;
  /** prom-client's default process metrics (with `operations`). Default true. */
  processMetrics?: boolean;
  /** How often records past retention are deleted from the store; 0: never. Default 60 s. */
  sweepInterval?: number;
  /** Where the API lives in the app, e.g. `/auth` (then `/auth/v1/auth/login`). Default: the root. */
  prefix?: string;
  /** For requests whose adapter brings no logger of its own (pino's shape). Default: warnings and errors to the console. */
  log?: RequestLog;
}

export interface HttpApi {
  readonly engine: Engine;
  /** What the routes share (users, throttle, hub, metrics, ...): `app.tessera` in the Fastify service. */
  readonly service: Service;
  readonly prefix: string;
  /** The paths of the routes served, with the prefix, in the router syntax (`/v1/sessions/:id`). */
  readonly paths: readonly string[];
  /** Answers one request (any path: unknown ones get the contract's 404). */
  handle(request: HttpRequest): Promise<HttpResponse>;
  /** The contract's answer to an error an adapter ran into before `handle` (e.g. its own parser). */
  errorResponse(error: unknown, request: HttpRequest): HttpResponse;
  /** Whether `path` (with the prefix, without the query) is one of this API's, under any method. */
  owns(path: string): boolean;
  /**
   * For a Node `http.Server`'s 'upgrade' event: takes the events WebSocket (`true`), or leaves the
   * request alone (`false`) for the app's own upgrade handlers.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ip?: string): boolean;
  /** The OpenAPI document of the routes served. */
  openapi(): Record<string, unknown>;
  /** Starts shutting down: new requests get 503, sockets and streams are closed. Idempotent. */
  shutdown(): void;
  /** Shuts down and releases timers, and the engine if the API built it. Idempotent. */
  close(): Promise<void>;
}

/** Auth, session and admin responses, and health answers, are never cached (OWASP Session Management Cheat Sheet). */
const NO_STORE_PREFIXES = ['/v1/', '/healthz', '/readyz'];
/** Methods whose body is never read (as Fastify treats them). */
const BODYLESS = new Set(['GET', 'HEAD', 'TRACE']);
const JSON_TYPE = 'application/json; charset=utf-8';

export async function createHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const allowedOrigins = [...(options.allowedOrigins ?? [])];
  if (allowedOrigins.includes('*')) throw new TesseraError('invalid_config', 'allowedOrigins must list origins; "*" is not allowed with credentials');
  const prefix = normalisePrefix(options.prefix);
  const log = options.log ?? consoleLog;

  const metricsRef: { silence: () => number } = { silence: () => Infinity };
  const metrics = new ServiceMetrics({ feedSilenceMs: () => metricsRef.silence(), processMetrics: (options.operations ?? false) && (options.processMetrics ?? true) });
  let engine: Engine;
  const ownsEngine = options.engine === undefined;
  if (options.engine) {
    engine = options.engine;
  } else {
    if (!options.store || options.issuer === undefined || options.audience === undefined) {
      throw new TesseraError('invalid_config', 'the HTTP API needs an engine, or a store, an issuer and an audience');
    }
    engine = await Engine.create({
      store: metrics.instrument(options.store),
      issuer: options.issuer,
      audience: options.audience,
      clock: options.clock ?? systemClock,
      ...(options.policy ? { policy: options.policy } : {}),
      ...options.engineOptions,
    });
  }
  const clock = engine.clock;
  const store = engine.store;
  metricsRef.silence = () => engine.verifier.feedSilence;
  const unsubscribeMetrics = engine.onEvent((event) => metrics.observe(event));

  const users = new UserDirectory({ store, clock, ...(options.passwordHashParams ? { hashParams: options.passwordHashParams } : {}) });
  void users.prepare().catch((error: unknown) => log.error({ err: error }, 'could not prepare the dummy password hash'));
  const retention = revocationRetention(engine.policy);
  const hub = new RevocationHub({ store, clock, retention, log });
  const service: Service = {
    engine,
    users,
    throttle: new LoginThrottle(store, clock, { ...DEFAULT_LOGIN_LIMITS, ...options.loginLimits }),
    csrf: new CsrfGuard(allowedOrigins),
    metrics,
    hub,
    clock,
    adminKey: options.adminKey ?? null,
    retention,
    websocketAuthTimeout: options.websocketAuthTimeout ?? 5000,
    sseHeartbeatInterval: options.sseHeartbeatInterval ?? 2000,
  };

  const state = { closing: false, closed: false };
  const router = new Router();
  const openapi = () =>
    openApiDocument(
      router.routes,
      { title: 'Tessera', version: '1', description: 'Sessions for web applications: revocable short-lived access tokens, rotating refresh tokens, device limits.' },
      prefix,
    );
  const operations = options.operations ? operationRoutes(service, state, openapi) : undefined;
  const admin = service.adminKey !== null ? adminRoutes(service, service.adminKey) : undefined;
  for (const r of [
    ...(operations?.routes ?? []),
    ...jwksRoutes(service),
    ...authRoutes(service),
    ...sessionRoutes(service),
    ...eventRoutes(service),
    ...(admin?.routes ?? []),
  ]) {
    router.add(r);
  }
  const schemas = new SchemaCompiler();
  for (const r of router.routes) schemas.compile(r);
  const bodyLimit = options.bodyLimit ?? 16 * 1024;
  const websockets = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });

  const sweepInterval = options.sweepInterval ?? 60_000;
  const sweeper =
    sweepInterval > 0
      ? setInterval(() => {
          store.sweep(clock.now()).catch((error: unknown) => log.warn({ err: error }, 'sweeping the store failed'));
        }, sweepInterval)
      : undefined;
  sweeper?.unref();

  /** The path relative to the prefix, or null when the path is not under it. */
  function relative(path: string): string | null {
    if (prefix === '') return path;
    if (path === prefix) return '/';
    return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : null;
  }

  function cors(request: HttpRequest, reply: Reply): HttpResponse | null {
    // The answer depends on the Origin, so caches must key on it (Fetch standard, "CORS protocol and HTTP caches").
    reply.header('Vary', 'Origin');
    const origin = headerValue(request.headers, 'origin');
    // Only listed origins get CORS headers; with credentials the answer is always the one origin, never `*`.
    if (origin === undefined || !service.csrf.isAllowedOrigin(origin)) return null;
    reply.header('Access-Control-Allow-Origin', origin);
    reply.header('Access-Control-Allow-Credentials', 'true');
    reply.header('Access-Control-Expose-Headers', 'Retry-After');
    if (request.method !== 'OPTIONS') return null;
    if (headerValue(request.headers, 'access-control-request-method') === undefined) {
      throw new TesseraError('invalid_request', 'a preflight request needs Access-Control-Request-Method');
    }
    reply.header('Access-Control-Allow-Methods', 'GET, POST, DELETE');
    reply.header('Access-Control-Allow-Headers', ['Content-Type', 'Authorization', CSRF_HEADER, 'traceparent'].join(', '));
    reply.header('Access-Control-Max-Age', '600');
    reply.header('Content-Length', '0');
    return { status: 204, headers: { ...reply.headers }, body: null };
  }

  async function readJsonBody(request: HttpRequest): Promise<unknown> {
    const contentType = headerValue(request.headers, 'content-type');
    if (contentType === undefined) {
      const length = headerValue(request.headers, 'content-length');
      if (headerValue(request.headers, 'transfer-encoding') === undefined && (length === undefined || length === '0')) return undefined;
      throw new TesseraError('unsupported_media_type', 'the request body must be application/json');
    }
    if (mediaType(contentType) !== 'application/json') throw new TesseraError('unsupported_media_type', 'the request body must be application/json');
    return parseJsonBody(await request.readBody(bodyLimit));
  }

  function success(route: Route, request: HttpRequest, reply: Reply, result: unknown): HttpResponse {
    if (reply.stream) return { status: reply.statusCode, headers: reply.headers, body: reply.stream };
    const payload = reply.sent ? reply.payload : result;
    const headers = reply.headers;
    let body: string | null;
    if (payload === undefined || (payload === null && reply.statusCode === 204)) {
      body = null;
    } else if (typeof payload === 'string') {
      headers['content-type'] ??= 'text/plain; charset=utf-8';
      body = payload;
    } else {
      const serialize = serializerFor(schemas.compile(route), reply.statusCode);
      headers['content-type'] ??= JSON_TYPE;
      body = serialize ? serialize(payload) : JSON.stringify(payload);
    }
    return { status: reply.statusCode, headers, body: request.method === 'HEAD' ? null : body };
  }

  function failure(error: unknown, request: HttpRequest, reply: Reply, requestLog: RequestLog): HttpResponse {
    const contract = toContractError(error);
    if (contract.status >= 500) requestLog.error({ err: error, code: contract.code }, 'request failed');
    else requestLog.info({ code: contract.code }, contract.message);
    const headers: Record<string, string | string[]> = { ...reply.headers, 'content-type': JSON_TYPE };
    delete headers['content-length'];
    if (contract.retryAfter !== undefined) headers['retry-after'] = String(contract.retryAfter);
    // RFC 9110 §11.6.1 / RFC 6750 §3: a 401 says how to authenticate.
    if (contract.status === 401) headers['www-authenticate'] = wwwAuthenticate(contract.code);
    return { status: contract.status, headers, body: request.method === 'HEAD' ? null : JSON.stringify(errorBody(contract)) };
  }

  function commonHeaders(reply: Reply, path: string): void {
    reply.header('X-Content-Type-Options', 'nosniff');
    if (NO_STORE_PREFIXES.some((p) => path.startsWith(p))) reply.header('Cache-Control', 'no-store');
  }

  function errorResponse(error: unknown, request: HttpRequest): HttpResponse {
    const reply = new Reply();
    const queryAt = request.url.indexOf('?');
    const fullPath = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
    commonHeaders(reply, relative(fullPath) ?? fullPath);
    try {
      cors({ ...request, method: 'GET' }, reply);
    } catch {
      // Only preflights throw, and this is not one.
    }
    return failure(error, request, reply, request.log ?? log);
  }

  /** Steps 3 to 8 of the list at the top of this file; `matched` learns the route's pattern (for metrics). */
  async function dispatch(request: HttpRequest, reply: Reply, requestLog: RequestLog, matched: (pattern: string) => void): Promise<HttpResponse> {
    const queryAt = request.url.indexOf('?');
    const fullPath = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
    const path = relative(fullPath);
    const found = path === null ? null : router.find(request.method, path);
    if (!found?.route) throw new TesseraError('not_found', `no route ${request.method} ${fullPath}`);
    const route = found.route;
    matched(prefix + route.url);
    const compiled = schemas.compile(route);
    let cookies: Record<string, string> | undefined;
    const routeRequest: RouteRequest<unknown, Record<string, string>, Record<string, string | string[]>> = {
      method: request.method,
      url: request.url,
      path: path!,
      headers: request.headers,
      ip: request.ip,
      // Parsed when a route first asks (most never do).
      get cookies() {
        return (cookies ??= parseCookies(headerValue(request.headers, 'cookie')));
      },
      params: found.params,
      query: parseQuery(queryAt < 0 ? '' : request.url.slice(queryAt + 1)),
      body: undefined,
      log: requestLog,
    };
    for (const hook of route.onRequest ?? []) await hook(routeRequest as RouteRequest<undefined>, reply);
    if (!BODYLESS.has(request.method)) routeRequest.body = await readJsonBody(request);
    validate(compiled.params, routeRequest.params, 'params');
    // An absent body is validated as null (as Fastify does): only schemas that allow null accept it.
    if (route.schema.body) validate(compiled.body, routeRequest.body === undefined ? null : routeRequest.body, 'body');
    validate(compiled.querystring, routeRequest.query, 'querystring');
    for (const hook of route.preHandler ?? []) await hook(routeRequest, reply);
    const result: unknown = await route.handler(routeRequest, reply);
    return success(route, request, reply, result);
  }

  async function handle(request: HttpRequest): Promise<HttpResponse> {
    const started = performance.now();
    const requestLog = request.log ?? log;
    const reply = new Reply();
    const queryAt = request.url.indexOf('?');
    const fullPath = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
    let pattern = 'unknown';
    let response: HttpResponse;
    try {
      commonHeaders(reply, relative(fullPath) ?? fullPath);
      if (state.closing) {
        reply.header('Connection', 'close');
        throw new TesseraError('store_unavailable', 'the service is shutting down');
      }
      response = cors(request, reply) ?? (await dispatch(request, reply, requestLog, (p) => (pattern = p)));
    } catch (error) {
      response = failure(error, request, reply, requestLog);
    }
    // A response finished while shutting down closes its connection, so that keep-alive clients do not
    // hold the server open.
    if (state.closing) response.headers.connection = 'close';
    metrics.httpDuration.observe({ method: request.method, route: pattern, status: String(response.status) }, (performance.now() - started) / 1000);
    return response;
  }

  function owns(path: string): boolean {
    const rel = relative(path);
    if (rel === null) return false;
    const found = router.find('GET', rel);
    return found.route !== null || found.known;
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ip?: string): boolean {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const rel = relative(queryAt < 0 ? url : url.slice(0, queryAt));
    const found = rel === null ? null : router.find('GET', rel);
    if (!found?.route?.websocket) return false;
    const route = found.route;
    if (state.closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return true;
    }
    const routeRequest: RouteRequest<undefined> = {
      method: 'GET',
      url,
      path: rel!,
      headers: req.headers,
      ip: ip ?? req.socket.remoteAddress ?? '',
      cookies: parseCookies(req.headers.cookie),
      params: found.params,
      query: {},
      body: undefined,
      log,
    };
    websockets.handleUpgrade(req, socket, head, (ws: WebSocket) => route.websocket!(ws, routeRequest));
    return true;
  }

  function shutdown(): void {
    if (state.closing) return;
    state.closing = true;
    hub.close();
    admin?.close();
    for (const client of websockets.clients) client.close(CLOSE_GOING_AWAY, 'shutting down');
  }

  async function close(): Promise<void> {
    shutdown();
    if (state.closed) return;
    state.closed = true;
    if (sweeper) clearInterval(sweeper);
    operations?.close();
    unsubscribeMetrics();
    websockets.close();
    if (ownsEngine) await engine.close({ closeStore: options.closeStore ?? true });
  }

  const paths = [...new Set(router.routes.map((r) => prefix + r.url))];
  return { engine, service, prefix, paths, handle, errorResponse, owns, upgrade, openapi, shutdown, close };
}

function normalisePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '' || prefix === '/') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) throw new TesseraError('invalid_config', `prefix must be a path such as /auth, got ${JSON.stringify(prefix)}`);
  return prefix;
}

/** A query string as an object: repeated names become arrays (which string-typed schemas refuse). */
function parseQuery(query: string): Record<string, string | string[]> {
  // No prototype: a `__proto__` parameter is just a parameter (which the schema then refuses).
  const out = Object.create(null) as Record<string, string | string[]>;
  if (query === '') return out;
  for (const [name, value] of new URLSearchParams(query)) {
    const held = out[name];
    out[name] = held === undefined ? value : Array.isArray(held) ? [...held, value] : [held, value];
  }
  return out;
}

function wwwAuthenticate(code: string): string {
  const tokenErrors = new Set(['invalid_token', 'token_expired', 'session_revoked', 'session_expired']);
  return tokenErrors.has(code) ? `Bearer realm="tessera", error="invalid_token"` : `Bearer realm="tessera"`;
}
