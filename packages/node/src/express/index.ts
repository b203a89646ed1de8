/**
 * Tessera for Express: route protection (`expressAuth`) and the session API mounted in the app
 * (`expressSessionApi`). Both translate Express requests to framework-free cores (../access.ts and
 * @tessera/server's HTTP core) and their answers back; nothing here decides anything.
 */
import type { Server } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Engine } from '@tessera/core';
import { attachToServer, createHttpApi, nodeRequest, writeNodeResponse, type AttachOptions, type HttpApi, type HttpApiOptions, type Service } from '@tessera/server/http';
import { createAuthenticate, type ProtectOptions, type RouteRequirements, type TesseraAuth } from '../access.js';

declare global {
  // Express's own extension point (declaration merging on its global namespace).
  namespace Express {
    interface Request {
      /** The caller, on a route behind Tessera's `protect()`. */
      tessera?: TesseraAuth;
    }
  }
}

export interface ExpressAuth {
  /** Middleware: `req.tessera` for a valid access token, else the contract's 401/403/503. */
  protect(requirements?: RouteRequirements): RequestHandler;
}

export function expressAuth(options: ProtectOptions): ExpressAuth {
  const authenticate = createAuthenticate(options);
  return {
    protect(requirements) {
      return (req: Request, res: Response, next: NextFunction) => {
        authenticate(
          { method: req.method, authorization: req.headers.authorization, cookie: req.headers.cookie, csrf: header(req, 'x-tessera-csrf') },
          requirements,
        ).then((outcome) => {
          if (outcome.ok) {
            req.tessera = outcome.auth;
            next();
            return;
          }
          res.status(outcome.denial.status).set(outcome.denial.headers).send(JSON.stringify(outcome.denial.body));
        }, next);
      };
    },
  };
}

export interface ExpressSessionApi {
  /** The engine the API serves (the app's, or the one built from `store`): give it to `expressAuth`. */
  readonly engine: Engine;
  readonly service: Service;
  /** Answers the contract's paths (any method) and passes every other request on. */
  readonly middleware: RequestHandler;
  /** Answers any request with the contract's 404: last in the chain, for 404s in the contract's shape. */
  readonly notFound: RequestHandler;
  /** The events WebSocket (and contract answers to unparsable requests) on the app's server. */
  attach(server: Server, options?: AttachOptions): () => void;
  /** Stops the API (503 from now on, sockets closed), and the engine if the API built it. */
  close(): Promise<void>;
}

/**
 * The public endpoints of the contract (login, refresh, logout, password, sessions, events, JWKS; the
 * admin API with an `adminKey`; operations with `operations: true`) in the app's own Express. Mount it
 * before body parsers: it reads its own bodies (a body another parser read is taken from `req.body`).
 */
export async function expressSessionApi(options: HttpApiOptions): Promise<ExpressSessionApi> {
  const api: HttpApi = await createHttpApi(options);
  const answer = (req: Request, res: Response, next: NextFunction) => {
    api
      .handle(nodeRequest(req, { ip: req.ip ?? req.socket.remoteAddress ?? '', url: req.url, parsedBody: req.body as unknown }))
      .then((response) => writeNodeResponse(res, response))
      .catch(next);
  };
  return {
    engine: api.engine,
    service: api.service,
    middleware(req, res, next) {
      if (!api.owns(req.path)) {
        next();
        return;
      }
      answer(req, res, next);
    },
    notFound: answer,
    attach: (server, attachOptions) => attachToServer(api, server, attachOptions),
    close: () => api.close(),
  };
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
