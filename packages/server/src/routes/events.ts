/**
 * GET /v1/events: the WebSocket a browser keeps open to hear, at once, that its session was revoked
 * (logged out elsewhere, evicted by a login on another device, revoked by an admin).
 *
 * The access token travels in the first message, never in the URL (URLs end up in logs and proxies;
 * RFC 6750 §5.3 / RFC 9700 §4.3.2). Because the socket is authenticated by that message and not by
 * a cookie, a cross-site page opening it learns nothing (no cross-site WebSocket hijacking).
 */
import type { RawData, WebSocket } from 'ws';
import { TesseraError, isTesseraError } from '@tessera/core';
import { route, type Route } from '../http/route.js';
import { errorResponses } from '../schemas.js';
import { CLOSE_UNAUTHENTICATED } from '../push.js';
import { verifyCounted, type Service } from '../service.js';

export function eventRoutes(service: Service): Route[] {
  const events = route({
    method: 'GET',
    url: '/v1/events',
    schema: {
      tags: ['events'],
      summary: 'WebSocket: revocation notices for one session',
      description:
        'Upgrade to a WebSocket, then send `{"type":"auth","accessToken":"..."}` as the first message (within a few seconds). ' +
        'The server answers `{"type":"ready","sessionId"}`, and when the session is revoked (logout, eviction by a login on another ' +
        'device, an admin, reuse detection), on any node, pushes `{"type":"session.revoked","sessionId","reason","at"}` and closes ' +
        'with 4001. Bad or late authentication closes with 4401. The token never goes in the URL.',
      response: { ...errorResponses },
    },
    // A plain GET (no Upgrade) gets a contract error.
    handler(_request, reply) {
      reply.header('Upgrade', 'websocket');
      throw new TesseraError('invalid_request', 'GET /v1/events is a WebSocket endpoint; send an Upgrade: websocket request');
    },
    websocket(socket: WebSocket, request) {
      let state: 'waiting' | 'verifying' | 'ready' = 'waiting';
      const timer = setTimeout(() => {
        if (state !== 'ready') socket.close(CLOSE_UNAUTHENTICATED, 'authentication timeout');
      }, service.websocketAuthTimeout);
      socket.once('close', () => clearTimeout(timer));
      socket.on('message', (data: RawData, isBinary: boolean) => {
        if (state !== 'waiting') return; // After auth the client has nothing to say; extra messages are ignored.
        state = 'verifying';
        void authenticate(data, isBinary).catch((error: unknown) => {
          const reason = isTesseraError(error) ? error.code : 'invalid_request';
          if (!isTesseraError(error)) request.log.warn({ err: error }, 'websocket authentication failed');
          socket.close(CLOSE_UNAUTHENTICATED, reason);
        });
      });

      async function authenticate(data: RawData, isBinary: boolean): Promise<void> {
        const message = isBinary ? null : parse(data);
        if (!message || message.type !== 'auth' || typeof message.accessToken !== 'string' || Object.keys(message).length !== 2) {
          socket.close(CLOSE_UNAUTHENTICATED, 'expected {"type":"auth","accessToken":...}');
          return;
        }
        const access = await verifyCounted(service, message.accessToken);
        if (socket.readyState !== socket.OPEN) return;
        clearTimeout(timer);
        state = 'ready';
        service.hub.attach(access.sessionId, socket);
        // A revocation that landed between the check and the attach must not be missed.
        if (service.engine.verifier.isRevoked(access.sessionId)) {
          const session = await service.engine.getSession(access.sessionId);
          if (session?.revokedAt != null) {
            service.hub.notify({ sid: session.sid, userId: session.userId, reason: session.revokeReason ?? 'revoked', at: session.revokedAt });
            return;
          }
        }
        socket.send(JSON.stringify({ type: 'ready', sessionId: access.sessionId }));
      }
    },
  });
  return [events];
}

function parse(data: RawData): Record<string, unknown> | null {
  try {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
