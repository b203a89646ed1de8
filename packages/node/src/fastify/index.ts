/**
 * Tessera for Fastify: route protection (`fastifyAuth`: its plugin decorates `request.tessera`, its
 * `protect()` is an `onRequest` hook) and the session API mounted in the app (`fastifySessionApi`, the
 * same Fastify plugin `tessera serve` itself is built from).
 */
import type { FastifyPluginCallback, FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Engine } from '@tessera/core';
import { fastifyApiPlugin, fastifyRequest, sendResponse, type FastifyApiOptions } from '@tessera/server';
import { createHttpApi, type HttpApi, type HttpApiOptions, type Service } from '@tessera/server/http';
import { createAuthenticate, type ProtectOptions, type RouteRequirements, type TesseraAuth } from '../access.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, on a route behind Tessera's `protect()`; `null` elsewhere. */
    tessera: TesseraAuth | null;
  }
}

export interface FastifyAuth {
  /** Register once: decorates `request.tessera` (Fastify's decorateRequest), visible app-wide. */
  readonly plugin: FastifyPluginCallback;
  /** An `onRequest` hook: `request.tessera` for a valid access token, else the contract's 401/403/503. */
  protect(requirements?: RouteRequirements): onRequestHookHandler;
}

export function fastifyAuth(options: ProtectOptions): FastifyAuth {
  const authenticate = createAuthenticate(options);
  const plugin = fp(
    (app, _options, done) => {
      app.decorateRequest('tessera', null);
      done();
    },
    { name: '@tessera/node/fastify-auth', fastify: '5.x' },
  );
  return {
    plugin,
    protect(requirements) {
      return async function tesseraProtect(request: FastifyRequest, reply: FastifyReply) {
        const outcome = await authenticate(
          {
            method: request.method,
            authorization: header(request, 'authorization'),
            cookie: header(request, 'cookie'),
            csrf: header(request, 'x-tessera-csrf'),
          },
          requirements,
        );
        if (outcome.ok) {
          request.tessera = outcome.auth;
          return;
        }
        return reply.code(outcome.denial.status).headers(outcome.denial.headers).send(JSON.stringify(outcome.denial.body));
      };
    },
  };
}

export interface FastifySessionApi {
  /** The engine the API serves (the app's, or the one built from `store`): give it to `fastifyAuth`. */
  readonly engine: Engine;
  readonly service: Service;
  /** Register it (`app.register(api.plugin)`): the routes, their own body handling, the events WebSocket. */
  readonly plugin: FastifyPluginAsync;
  /** For `app.setNotFoundHandler(...)`: the contract's 404 for every path nothing else answered. */
  notFound(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>;
  /** Stops the API, and the engine if the API built it (also done when the app closes). */
  close(): Promise<void>;
}

/**
 * The public endpoints of the contract (login, refresh, logout, password, sessions, events, JWKS; the
 * admin API with an `adminKey`; operations with `operations: true`) in the app's own Fastify. The
 * plugin is encapsulated: the app's body parsers and error handler are untouched. If the app also
 * registers @fastify/websocket, give `websocket: false` here: two handlers must not take one upgrade.
 */
export async function fastifySessionApi(options: HttpApiOptions & FastifyApiOptions): Promise<FastifySessionApi> {
  const api: HttpApi = await createHttpApi(options);
  const inner = fastifyApiPlugin(api, options.websocket === undefined ? {} : { websocket: options.websocket });
  const plugin: FastifyPluginAsync = async (app) => {
    await inner(app, {});
    app.addHook('onClose', async () => api.close());
  };
  return {
    engine: api.engine,
    service: api.service,
    plugin,
    notFound: async (request, reply) => sendResponse(reply, await api.handle(fastifyRequest(request))),
    close: () => api.close(),
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
