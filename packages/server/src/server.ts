/**
 * `buildServer`: the Tessera service as a Fastify application, on any `SessionStore`.
 *
 * Fastify is the server here: it listens, logs every request (with the trace id of its W3C
 * traceparent), trusts proxies as configured and shuts down gracefully. The contract itself is the
 * framework-free core in `http/` (`createHttpApi`), registered through its Fastify plugin
 * (fastify-api.ts), with the core's 404 for every other path. The Express, Fastify and Hono mounts of
 * @tessera/node translate the same core, so every one of them answers as this service does.
 */
import Fastify, { type FastifyHttpOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Server } from 'node:http';
import { TesseraError, type Clock, type EngineOptions, type PolicyInput, type SessionStore } from '@tessera/core';
import { clientErrorHandler } from './contract-errors.js';
import { fastifyApiPlugin, fastifyRequest, sendResponse } from './fastify-api.js';
import { createHttpApi, type HttpApi } from './http/api.js';
import { MAX_PARAM_LENGTH } from './http/route.js';
import type { LoginLimits } from './login-throttle.js';
import type { ScryptParams } from './password-hash.js';
import { traceIdOf, type Service } from './service.js';

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

export async function buildServer(options: ServerOptions): Promise<TesseraServer> {
  if ((options.allowedOrigins ?? []).includes('*')) throw new TesseraError('invalid_config', 'allowedOrigins must list origins; "*" is not allowed with credentials');
  const fastifyOptions: FastifyHttpOptions<Server> = {
    logger: loggerOptions(options.logger),
    // Fastify accepts a hop count at run time (proxy-addr), though its types omit it.
    trustProxy: (options.trustProxy ?? false) as FastifyServerOptions['trustProxy'],
    http: { maxHeaderSize: options.maxHeaderSize ?? 16 * 1024 },
    // Path parameters are the core's to judge (its router and the route schemas answer with the
    // contract's codes): Fastify's own limit (100 characters, then a bare 414) must not come first,
    // or a 128-character username could not be looked up.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Fastify's own 503-while-closing answers outside the contract; the API does it instead.
    return503OnClosing: false,
    clientErrorHandler,
    // Every log line of a request carries the trace id of its W3C traceparent.
    childLoggerFactory(logger, bindings, childOptions, rawRequest) {
      const traceId = traceIdOf(rawRequest as { headers: Record<string, string | string[] | undefined> });
      return logger.child(traceId ? { ...bindings, traceId } : bindings, childOptions);
    },
  };
  const app = Fastify(fastifyOptions);

  const api: HttpApi = await createHttpApi({
    store: options.store,
    issuer: options.issuer,
    audience: options.audience,
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.engine ? { engineOptions: options.engine } : {}),
    closeStore: options.closeStore ?? true,
    adminKey: options.adminKey ?? null,
    allowedOrigins: options.allowedOrigins ?? [],
    ...(options.loginLimits ? { loginLimits: options.loginLimits } : {}),
    ...(options.passwordHashParams ? { passwordHashParams: options.passwordHashParams } : {}),
    websocketAuthTimeout: options.websocketAuthTimeout ?? 5000,
    sseHeartbeatInterval: options.sseHeartbeatInterval ?? 2000,
    bodyLimit: options.bodyLimit ?? 16 * 1024,
    operations: true,
    processMetrics: options.processMetrics ?? true,
    sweepInterval: options.sweepInterval ?? 60_000,
    log: app.log,
  });
  app.decorate('tessera', api.service);
  await app.register(fastifyApiPlugin(api));
  // Every other path is the core's too (its 404, and CORS preflights): bodies stay unread for it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  app.setNotFoundHandler(async (request, reply) => sendResponse(reply, await api.handle(fastifyRequest(request))));
  app.setErrorHandler((error, request, reply) => sendResponse(reply, api.errorResponse(error, fastifyRequest(request))));
  app.addHook('onClose', async () => api.close());

  return app as unknown as TesseraServer;
}

function loggerOptions(logger: ServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return false;
  const base = logger === true ? {} : logger;
  const redact = (base as { redact?: string[] }).redact ?? [];
  return { level: 'info', ...base, redact: { paths: [...LOG_REDACT_PATHS, ...redact], censor: '[redacted]' } } as FastifyServerOptions['logger'];
}
