/**
 * `buildServer`: the Tessera service as a Fastify application, on any `SessionStore`.
 */
import Fastify, { type FastifyHttpOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Server } from 'node:http';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import { Engine, TesseraError, revocationRetention, systemClock, type Clock, type EngineOptions, type PolicyInput, type SessionStore } from '@tessera/core';
import { clientErrorHandler, errorBody, toContractError } from './contract-errors.js';
import { DEFAULT_LOGIN_LIMITS, LoginThrottle, type LoginLimits } from './login-throttle.js';
import { ServiceMetrics } from './metrics.js';
import type { ScryptParams } from './password-hash.js';
import { RevocationHub } from './push.js';
import { adminRoutes } from './routes/admin.js';
import { authRoutes } from './routes/auth.js';
import { eventRoutes } from './routes/events.js';
import { operationRoutes } from './routes/operations.js';
import { sessionRoutes } from './routes/sessions.js';
import { traceIdOf, type Service } from './service.js';
import { CSRF_HEADER, CsrfGuard } from './transport.js';
import { UserDirectory } from './users.js';

export interface ServerOptions {
  store: SessionStore;
  /** `iss` of access tokens, e.g. `https://auth.example.com`. */
  issuer: string;
  audience: string | string[];
  policy?: PolicyInput;
  /** Admin API key (≥ 32 characters); `null`/absent turns the admin API off. */
  adminKey?: string | null;
  /** Origins (`https://app.example.com`) allowed for CORS and for cookie requests. Never `*`. */
  allowedOrigins?: readonly string[];
  /** Fastify's `trustProxy`: whose `X-Forwarded-For` to believe for the client address. Default: nobody. */
  trustProxy?: boolean | number | string | string[];
  loginLimits?: Partial<LoginLimits>;
  /** Fastify logger options (pino); the redaction of secrets is always added. Default: off. */
  logger?: boolean | Record<string, unknown>;
  clock?: Clock;
  /** Lower scrypt parameters for tests only; the default is OWASP's. */
  passwordHashParams?: ScryptParams;
  /** Close the store when the server closes. Default true. */
  closeStore?: boolean;
  /** Time a new /v1/events socket has to authenticate. Default 5 s. */
  websocketAuthTimeout?: number;
  /** Heartbeat interval of /v1/admin/revocations/stream. Default 2 s. */
  sseHeartbeatInterval?: number;
  /** prom-client's default process metrics. Default true. */
  processMetrics?: boolean;
  /** Largest accepted request body. Default 16 KiB. */
  bodyLimit?: number;
  /** Largest accepted request head (Node's `maxHeaderSize`). Default 16 KiB. */
  maxHeaderSize?: number;
  /**
   * How often records past retention (and expired throttling counters) are deleted from the store.
   * Default 60 s. Stores with native expiry (Redis TTLs) or their own sweeper make this a cheap no-op.
   */
  sweepInterval?: number;
  /** Passed through to the engine (key rotation and sync intervals). */
  engine?: Pick<EngineOptions, 'keyRotationInterval' | 'keyPublishLead' | 'keySyncInterval' | 'verifierCacheSize'>;
}

export type TesseraServer = FastifyInstance & { tessera: Service };

/**
 * Paths that must never reach a log line: credentials in headers and in bodies (OWASP Logging
 * Cheat Sheet: never log session identifiers, access tokens, passwords). Fastify's default request
 * serializer logs no headers and no bodies; this is the second line of defence for anything that
 * logs a request, a reply or a body object.
 */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-tessera-csrf"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'body.password',
  'body.currentPassword',
  'body.newPassword',
  'body.refreshToken',
  'body.accessToken',
  'body.token',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.refreshToken',
  '*.accessToken',
  '*.adminKey',
  'adminKey',
  'password',
];

/** Auth, session and admin responses, and health answers, are never cached (OWASP Session Management Cheat Sheet). */
const NO_STORE_PREFIXES = ['/v1/', '/healthz', '/readyz'];

export async function buildServer(options: ServerOptions): Promise<TesseraServer> {
  const clock = options.clock ?? systemClock;
  const allowedOrigins = [...(options.allowedOrigins ?? [])];
  if (allowedOrigins.includes('*')) throw new TesseraError('invalid_config', 'allowedOrigins must list origins; "*" is not allowed with credentials');

  const fastifyOptions: FastifyHttpOptions<Server> = {
    logger: loggerOptions(options.logger),
    // Fastify accepts a hop count at run time (proxy-addr), though its types omit it.
    trustProxy: (options.trustProxy ?? false) as FastifyServerOptions['trustProxy'],
    bodyLimit: options.bodyLimit ?? 16 * 1024,
    http: { maxHeaderSize: options.maxHeaderSize ?? 16 * 1024 },
    routerOptions: { maxParamLength: 300 },
    // AJV as the contract needs it: unknown fields are an error (not silently removed), no type
    // coercion ("12" is not a number), and stop at the first error (allErrors is a DoS vector).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    // Fastify's own 503-while-closing answers outside the contract; our onRequest hook does it instead.
    return503OnClosing: false,
    clientErrorHandler,
    // Every log line of a request carries the trace id of its W3C traceparent.
    childLoggerFactory(logger, bindings, childOptions, rawRequest) {
      const traceId = traceIdOf(rawRequest as { headers: Record<string, string | string[] | undefined> });
      return logger.child(traceId ? { ...bindings, traceId } : bindings, childOptions);
    },
  };
  const app = Fastify(fastifyOptions);

  const metricsRef: { verifierSilence: () => number } = { verifierSilence: () => Infinity };
  const metrics = new ServiceMetrics({ feedSilenceMs: () => metricsRef.verifierSilence(), processMetrics: options.processMetrics ?? true });
  const store = metrics.instrument(options.store);
  const engine = await Engine.create({
    store,
    issuer: options.issuer,
    audience: options.audience,
    clock,
    ...(options.policy ? { policy: options.policy } : {}),
    ...options.engine,
  });
  metricsRef.verifierSilence = () => engine.verifier.feedSilence;
  const unsubscribeMetrics = engine.onEvent((event) => metrics.observe(event));

  const users = new UserDirectory({ store, clock, ...(options.passwordHashParams ? { hashParams: options.passwordHashParams } : {}) });
  void users.prepare().catch((error: unknown) => app.log.error({ err: error }, 'could not prepare the dummy password hash'));
  const hub = new RevocationHub({ store, clock, retention: revocationRetention(engine.policy), log: app.log });
  const service: Service = {
    engine,
    users,
    throttle: new LoginThrottle(store, clock, { ...DEFAULT_LOGIN_LIMITS, ...options.loginLimits }),
    csrf: new CsrfGuard(allowedOrigins),
    metrics,
    hub,
    clock,
    adminKey: options.adminKey ?? null,
    retention: revocationRetention(engine.policy),
    websocketAuthTimeout: options.websocketAuthTimeout ?? 5000,
    sseHeartbeatInterval: options.sseHeartbeatInterval ?? 2000,
  };
  app.decorate('tessera', service);

  const sweeper = setInterval(() => {
    store.sweep(clock.now()).catch((error: unknown) => app.log.warn({ err: error }, 'sweeping the store failed'));
  }, options.sweepInterval ?? 60_000);
  sweeper.unref();

  const state = { closing: false };
  app.addHook('preClose', async () => {
    state.closing = true;
    hub.close();
  });
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
    unsubscribeMetrics();
    await engine.close({ closeStore: options.closeStore ?? true });
  });

  // Only the JSON parser, tolerant of an empty body (a cookie refresh or logout has nothing to say);
  // text/plain is removed so that it is a 415, not a string handed to the routes.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, null);
      return;
    }
    parseJson(request, body as string, done);
  });

  app.setErrorHandler((error, request, reply) => {
    const contract = toContractError(error);
    if (contract.status >= 500) request.log.error({ err: error, code: contract.code }, 'request failed');
    else request.log.info({ code: contract.code }, contract.message);
    if (contract.retryAfter !== undefined) reply.header('Retry-After', String(contract.retryAfter));
    // RFC 9110 §11.6.1 / RFC 6750 §3: a 401 says how to authenticate.
    if (contract.status === 401) reply.header('WWW-Authenticate', wwwAuthenticate(contract.code));
    reply.code(contract.status).send(errorBody(contract));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody({ code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }));
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    if (NO_STORE_PREFIXES.some((prefix) => request.url.startsWith(prefix))) reply.header('Cache-Control', 'no-store');
    if (state.closing) {
      reply.header('Connection', 'close');
      throw new TesseraError('store_unavailable', 'the service is shutting down');
    }
  });
  // A response finished while shutting down closes its connection, so that keep-alive clients do not
  // hold the server open (Fastify closes only the connections idle when the close began).
  app.addHook('onSend', async (_request, reply, payload) => {
    if (state.closing) reply.header('Connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Tessera',
        version: '1',
        description: 'Sessions for web applications: revocable short-lived access tokens, rotating refresh tokens, device limits.',
      },
      components: {
        securitySchemes: {
          accessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (EdDSA, typ at+jwt)' },
          adminKey: { type: 'http', scheme: 'bearer', description: 'the TESSERA_ADMIN_KEY' },
        },
      },
    },
  });
  await app.register(cookie, { hook: 'onRequest' });
  await app.register(cors, {
    // Only listed origins get CORS headers; with credentials the answer is always the one origin,
    // never `*` (Fetch standard, CORS protocol and credentials).
    origin: (origin, callback) => callback(null, origin !== undefined && service.csrf.isAllowedOrigin(origin)),
    credentials: true,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization', CSRF_HEADER, 'traceparent'],
    exposedHeaders: ['Retry-After'],
    maxAge: 600,
  });
  await app.register(websocket, { options: { maxPayload: 16 * 1024 } });

  await app.register(operationRoutes(service, state));
  await app.register(authRoutes(service));
  await app.register(sessionRoutes(service));
  await app.register(eventRoutes(service));
  if (service.adminKey !== null) await app.register(adminRoutes(service, service.adminKey));

  return app as unknown as TesseraServer;
}

function wwwAuthenticate(code: string): string {
  const tokenErrors = new Set(['invalid_token', 'token_expired', 'session_revoked', 'session_expired']);
  return tokenErrors.has(code) ? `Bearer realm="tessera", error="invalid_token"` : `Bearer realm="tessera"`;
}

function loggerOptions(logger: ServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return false;
  const base = logger === true ? {} : logger;
  const redact = (base as { redact?: string[] }).redact ?? [];
  return { level: 'info', ...base, redact: { paths: [...LOG_REDACT_PATHS, ...redact], censor: '[redacted]' } } as FastifyServerOptions['logger'];
}
