/**
 * GET /v1/sessions, DELETE /v1/sessions/:id, POST /v1/sessions/revoke-others: a user managing their
 * own devices with their access token.
 */
import { TesseraError, sessionView } from '@tessera/core';
import { route, type Route } from '../http/route.js';
import { errorResponses, revokeOthersBody, revokedCount, sessionIdParams, sessionList } from '../schemas.js';
import { authenticate, requestContext, type Service } from '../service.js';

export function sessionRoutes(service: Service): Route[] {
  const { engine, users, throttle } = service;
  const security = [{ accessToken: [] }];

  const list = route({
    method: 'GET',
    url: '/v1/sessions',
    schema: {
      tags: ['sessions'],
      summary: "The caller's live sessions, most recently seen first; `current` marks the caller's own",
      security,
      response: { 200: sessionList, ...errorResponses },
    },
    async handler(request) {
      const access = await authenticate(service, request);
      const sessions = await engine.listSessions(access.userId);
      return { sessions: sessions.map((s) => sessionView(s, access.sessionId)) };
    },
  });

  const revokeOne = route<undefined, { id: string }>({
    method: 'DELETE',
    url: '/v1/sessions/:id',
    schema: {
      tags: ['sessions'],
      summary: "Revoke one of the caller's own sessions (404 for any other id)",
      security,
      params: sessionIdParams,
      response: { 204: { type: 'null', description: 'revoked (or already revoked)' }, ...errorResponses },
    },
    async handler(request, reply) {
      const access = await authenticate(service, request);
      const session = await engine.getSession(request.params.id);
      // Another user's session is indistinguishable from a session that does not exist.
      if (!session || session.userId !== access.userId) throw new TesseraError('not_found', 'no such session');
      const reason = session.sid === access.sessionId ? 'logout' : 'revoked';
      await engine.revoke(session.sid, reason, requestContext(request));
      return reply.code(204).send();
    },
  });

  const revokeOthers = route<{ password: string }>({
    method: 'POST',
    url: '/v1/sessions/revoke-others',
    schema: {
      tags: ['sessions'],
      summary: 'Revoke every other session of the caller; needs the password (OWASP ASVS 3.3.4)',
      security,
      body: revokeOthersBody,
      response: { 200: revokedCount, ...errorResponses },
    },
    async handler(request) {
      const access = await authenticate(service, request);
      const ctx = requestContext(request);
      const user = await engine.store.getUser(access.userId);
      if (!user) throw new TesseraError('forbidden', 'this user has no password in Tessera');
      // Same counter as sign-in: a stolen access token must not buy unlimited password guesses.
      await throttle.attempt(user.username, request.ip);
      if (!(await users.checkPassword(user, request.body.password))) {
        engine.recordEvent({ type: 'login.failed', sid: access.sessionId, userId: access.userId, ...ctx, reason: 'invalid_credentials' });
        throw new TesseraError('invalid_credentials', 'the password is incorrect');
      }
      const revoked = await engine.revokeUser(access.userId, { exceptSid: access.sessionId, reason: 'revoked' }, ctx);
      return { revoked };
    },
  });

  return [list, revokeOne, revokeOthers];
}
