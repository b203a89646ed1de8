/**
 * The admin API: for an application backend that authenticated the user itself, and for verifiers in
 * other processes (revocations and their SSE stream). `Authorization: Bearer <admin key>`; with no key
 * configured these routes are not registered at all (404), so there is no default key to leak.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  TesseraError,
  isCompactJws,
  isLive,
  isTesseraError,
  hashesEqual,
  parseRefreshToken,
  sessionView,
  type Device,
  type RevocationEntry,
} from '@tessera/core';
import { EventStream } from '../http/event-stream.js';
import { route, type Route } from '../http/route.js';
import { headerValue, type RequestHeaders } from '../http/types.js';
import {
  adminCreateSessionBody,
  createUserBody,
  errorResponses,
  eventsQuery,
  eventsResponse,
  introspectBody,
  introspectResponse,
  keysResponse,
  revocationsQuery,
  revocationsResponse,
  revokedCount,
  sessionIdParams,
  sessionList,
  tokenResponse as tokenResponseSchema,
  userIdParams,
  userResponse,
  usernameOrIdParams,
} from '../schemas.js';
import { bearerToken, requestContext, tokenResponse, type Service } from '../service.js';
import type { Transport } from '../transport.js';

interface CreateSessionBody {
  userId: string;
  device?: Partial<Device>;
  claims?: Record<string, unknown>;
  transport?: Transport;
}

const INACTIVE = { active: false } as const;

export function adminRoutes(service: Service, adminKey: string): { routes: Route[]; close(): void } {
  const { engine, users, clock } = service;
  const security = [{ adminKey: [] }];
  const expected = sha256(adminKey);

  // Both sides hashed to 32 bytes, then compared in constant time: neither the length nor a prefix
  // of the key leaks through timing (OWASP ASVS 2.9.x / 6.2: no early-exit comparison of secrets).
  const checkAdminKey = (request: { headers: RequestHeaders }) => {
    const token = bearerToken(request);
    if (token === null || !timingSafeEqual(sha256(token), expected)) {
      throw new TesseraError('unauthorized', 'a valid admin key is required (Authorization: Bearer <admin key>)');
    }
  };

  const createSession = route<CreateSessionBody>({
    method: 'POST',
    url: '/v1/admin/sessions',
    schema: {
      tags: ['admin'],
      summary: 'Create a session for a user the application authenticated itself; returns its first tokens',
      security,
      body: adminCreateSessionBody,
      response: { 201: tokenResponseSchema, ...errorResponses },
    },
    async handler(request, reply) {
      const { userId, device, claims } = request.body;
      const issued = await engine.createSession({ userId, ...(device ? { device } : {}), ...(claims ? { claims } : {}) }, requestContext(request));
      return reply.code(201).send(tokenResponse(reply, issued, request.body.transport ?? 'header'));
    },
  });

  const userSessions = route<undefined, { userId: string }>({
    method: 'GET',
    url: '/v1/admin/users/:userId/sessions',
    schema: {
      tags: ['admin'],
      summary: "A user's live sessions, most recently seen first",
      security,
      params: userIdParams,
      response: { 200: sessionList, ...errorResponses },
    },
    async handler(request) {
      return { sessions: (await engine.listSessions(request.params.userId)).map((s) => sessionView(s)) };
    },
  });

  const revokeSession = route<undefined, { id: string }>({
    method: 'DELETE',
    url: '/v1/admin/sessions/:id',
    schema: {
      tags: ['admin'],
      summary: 'Revoke one session (reason `admin`); 204 also when already revoked, 404 when unknown',
      security,
      params: sessionIdParams,
      response: { 204: { type: 'null', description: 'revoked' }, ...errorResponses },
    },
    async handler(request, reply) {
      const session = await engine.getSession(request.params.id);
      if (!session) throw new TesseraError('not_found', 'no such session');
      await engine.revoke(session.sid, 'admin', requestContext(request));
      return reply.code(204).send();
    },
  });

  const revokeUser = route<undefined, { userId: string }>({
    method: 'DELETE',
    url: '/v1/admin/users/:userId/sessions',
    schema: {
      tags: ['admin'],
      summary: 'Revoke every live session of a user (reason `admin`)',
      security,
      params: userIdParams,
      response: { 200: revokedCount, ...errorResponses },
    },
    async handler(request) {
      return { revoked: await engine.revokeUser(request.params.userId, { reason: 'admin' }, requestContext(request)) };
    },
  });

  const introspect = route<{ token: string }>({
    method: 'POST',
    url: '/v1/admin/introspect',
    schema: {
      tags: ['admin'],
      summary: 'RFC 7662-style introspection of an access or refresh token, checked against the store',
      security,
      body: introspectBody,
      response: { 200: introspectResponse, ...errorResponses },
    },
    async handler(request) {
      const { token } = request.body;
      const now = clock.now();
      if (isCompactJws(token)) {
        let claims: Record<string, unknown>;
        let sid: string;
        try {
          const verified = await engine.verify(token);
          claims = verified.claims;
          sid = verified.sessionId;
        } catch (error) {
          if (isTesseraError(error, 'store_unavailable')) throw error;
          return INACTIVE;
        }
        // Introspection is where a caller asks for the truth: the store decides, not the local set.
        const session = await engine.getSession(sid);
        if (!session || !isLive(session, now)) return INACTIVE;
        return { ...claims, active: true, token_type: 'access_token' };
      }
      const parsed = parseRefreshToken(token);
      const session = parsed ? await engine.getSession(parsed.sid) : null;
      if (!parsed || !session || !isLive(session, now) || !hashesEqual(session.refresh.hash, parsed.secretHash)) return INACTIVE;
      return {
        active: true,
        token_type: 'refresh_token',
        sub: session.userId,
        sid: session.sid,
        iat: Math.floor(session.refresh.rotatedAt / 1000),
        exp: Math.floor(Math.min(session.idleExpiresAt, session.absoluteExpiresAt) / 1000),
      };
    },
  });

  const events = route<undefined, Record<string, string>, { after?: string; limit?: string }>({
    method: 'GET',
    url: '/v1/admin/events',
    schema: {
      tags: ['admin'],
      summary: 'The event log, oldest first, after a cursor (the `id` of the last event read)',
      security,
      querystring: eventsQuery,
      response: { 200: eventsResponse, ...errorResponses },
    },
    async handler(request) {
      const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
      if (limit < 1 || limit > 1000) throw new TesseraError('invalid_request', 'limit must be from 1 to 1000');
      await engine.flushEvents();
      return { events: await engine.store.readEvents({ after: request.query.after ?? null, limit }) };
    },
  });

  const createUser = route<{ username: string; password: string }>({
    method: 'POST',
    url: '/v1/admin/users',
    schema: {
      tags: ['admin'],
      summary: 'Create a built-in user (username normalised: NFKC, lower case)',
      security,
      body: createUserBody,
      response: { 201: userResponse, ...errorResponses },
    },
    async handler(request, reply) {
      const user = await users.create(request.body.username, request.body.password);
      return reply.code(201).send({ id: user.id, username: user.username, createdAt: user.createdAt });
    },
  });

  const user = route<undefined, { usernameOrId: string }>({
    method: 'GET',
    url: '/v1/admin/users/:usernameOrId',
    schema: {
      tags: ['admin'],
      summary: 'A built-in user, by username (normalised: NFKC, lower case) or else by id; 404 `not_found` when neither matches',
      security,
      params: usernameOrIdParams,
      response: { 200: userResponse, ...errorResponses },
    },
    async handler(request) {
      const found = await users.find(request.params.usernameOrId);
      if (!found) throw new TesseraError('not_found', 'no such user');
      // Picked field by field: the password hash never leaves the store (the schema is closed too).
      return { id: found.id, username: found.username, createdAt: found.createdAt };
    },
  });

  const keys = route<undefined>({
    method: 'GET',
    url: '/v1/admin/keys',
    schema: {
      tags: ['admin'],
      summary: 'The signing keys with their times (published, signs from, retires, leaves JWKS), newest first; no key material',
      security,
      response: { 200: keysResponse, ...errorResponses },
    },
    handler() {
      const list = engine.keys
        .list()
        .map(({ kid, createdAt, activatesAt, retiresAt, expiresAt }) => ({ kid, createdAt, activatesAt, retiresAt, expiresAt }))
        .sort((a, b) => b.activatesAt - a.activatesAt || (a.kid < b.kid ? -1 : 1));
      return { keys: list, now: clock.now() };
    },
  });

  const revocations = route<undefined, Record<string, string>, { after?: string }>({
    method: 'GET',
    url: '/v1/admin/revocations',
    schema: {
      tags: ['admin', 'verifiers'],
      summary: 'Recent revocations (kept for the access-token lifetime plus leeway), for verifiers in other processes',
      security,
      querystring: revocationsQuery,
      response: { 200: revocationsResponse, ...errorResponses },
    },
    async handler(request) {
      const now = clock.now();
      const after = request.query.after === undefined ? now - service.retention : Number(request.query.after);
      return { revocations: await engine.store.revocationsSince(after), now };
    },
  });

  const streams = new Set<EventStream>();

  const revocationStream = route<undefined, Record<string, string>, { after?: string }>({
    method: 'GET',
    url: '/v1/admin/revocations/stream',
    schema: {
      tags: ['admin', 'verifiers'],
      summary:
        'Server-sent events: `revoked` (data: {sid, userId, reason, at}; id: at), `ready` after the back-fill, and `heartbeat` ' +
        'every few seconds (silence means the stream is dead). Back-fills from `after`, `Last-Event-ID`, or the retention window.',
      security,
      querystring: revocationsQuery,
      produces: ['text/event-stream'],
    },
    async handler(request, reply) {
      const lastEventId = headerValue(request.headers, 'last-event-id');
      const now = clock.now();
      let after = now - service.retention;
      if (request.query.after !== undefined) after = Number(request.query.after);
      else if (typeof lastEventId === 'string' && /^\d{1,16}$/.test(lastEventId)) after = Number(lastEventId);

      const stream = new EventStream();
      const sendEntry = (entry: RevocationEntry) => stream.push(`id: ${entry.at}\nevent: revoked\ndata: ${JSON.stringify(entry)}\n\n`);
      // Live entries that arrive during the back-fill wait for it, so the order stays oldest first.
      let queued: RevocationEntry[] | null = [];
      const unsubscribe = service.hub.addStream({
        revoked: (entry) => (queued ? queued.push(entry) : sendEntry(entry)),
        resync: (entries) => entries.forEach(sendEntry),
      });
      const heartbeat = setInterval(() => stream.push(`event: heartbeat\ndata: {"now":${clock.now()}}\n\n`), service.sseHeartbeatInterval);
      streams.add(stream);
      stream.onEnd(() => {
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(stream);
      });
      stream.push('retry: 2000\n\n');
      void (async () => {
        try {
          for (const entry of await engine.store.revocationsSince(after)) sendEntry(entry);
        } catch (error) {
          request.log.warn({ err: error }, 'revocation stream back-fill failed');
          stream.push(`event: error\ndata: ${JSON.stringify({ code: 'store_unavailable' })}\n\n`);
          stream.end();
          return;
        }
        const pending: RevocationEntry[] = queued;
        queued = null;
        pending.forEach(sendEntry);
        stream.push(`event: ready\ndata: {"now":${clock.now()}}\n\n`);
      })();
      return reply
        .header('Content-Type', 'text/event-stream; charset=utf-8')
        .header('Cache-Control', 'no-store')
        .header('Connection', 'keep-alive')
        .header('X-Accel-Buffering', 'no')
        .sendStream(stream);
    },
  });

  const routes: Route[] = [createSession, userSessions, revokeSession, revokeUser, introspect, events, createUser, user, keys, revocations, revocationStream];
  for (const r of routes) r.onRequest = [checkAdminKey, ...(r.onRequest ?? [])];
  return {
    routes,
    /** Ends the open revocation streams (the service is shutting down). */
    close() {
      for (const stream of [...streams]) stream.end();
    },
  };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
