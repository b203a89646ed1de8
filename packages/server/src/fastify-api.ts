/**
 * The HTTP contract as a Fastify plugin: the one Fastify translation of the framework-free core
 * (`http/api.ts`). The service (`buildServer`) is this plugin on a Fastify of its own; @tessera/node
 * registers it in an app's Fastify. The plugin is encapsulated: its body handling (every body handed
 * to the core unread) and error handler apply to its routes only, never to the app's.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpApi } from './http/api.js';
import { attachToServer, nodeRequest, writeNodeResponse } from './http/node.js';
import type { HttpRequest, HttpResponse, RequestLog } from './http/types.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

export interface FastifyApiOptions {
  /** Take the events WebSocket from the server's upgrades. Default true. */
  websocket?: boolean;
}

/** Routes every path of the API (under every method: a wrong method is the contract's 404) to the core. */
export function fastifyApiPlugin(api: HttpApi, options: FastifyApiOptions = {}): FastifyPluginAsync {
  return async function tesseraApi(app: FastifyInstance): Promise<void> {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    for (const url of api.paths) {
      app.route({ method: METHODS, url, handler: async (request, reply) => sendResponse(reply, await api.handle(fastifyRequest(request))) });
    }
    // What Fastify itself refuses before a route runs (a malformed Content-Type header).
    app.setErrorHandler((error, request, reply) => sendResponse(reply, api.errorResponse(error, fastifyRequest(request))));
    if (options.websocket ?? true) {
      const detach = attachToServer(api, app.server, { clientErrors: false });
      app.addHook('onClose', async () => detach());
    }
    app.addHook('preClose', async () => api.shutdown());
  };
}

export function fastifyRequest(request: FastifyRequest): HttpRequest {
  return nodeRequest(request.raw, { ip: request.ip, url: request.url, log: request.log as RequestLog });
}

/** Sends the core's response through Fastify (its logging and hooks see it), or, for a stream, on the raw response. */
export async function sendResponse(reply: FastifyReply, response: HttpResponse): Promise<FastifyReply> {
  if (response.body !== null && typeof response.body !== 'string') {
    reply.hijack();
    await writeNodeResponse(reply.raw, response);
    return reply;
  }
  reply.code(response.status).headers(response.headers);
  // A string with its content type set is sent as it is (Fastify serializes only objects).
  return reply.send(response.body ?? undefined);
}
