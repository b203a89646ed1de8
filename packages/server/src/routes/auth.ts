/**
 * POST /v1/auth/login, /refresh, /logout, /password.
 */
import { TesseraError, hashesEqual, isTesseraError, parseRefreshToken, type Device, type SessionRecord } from '@tessera/core';
import { route, type Route, type RouteRequest } from '../http/route.js';
import { headerValue } from '../http/types.js';
import { errorResponses, loginBody, passwordChangeBody, refreshBody, tokenResponse as tokenResponseSchema } from '../schemas.js';
import { authenticate, bearerToken, requestContext, tokenResponse, verifyCounted, type Service } from '../service.js';
import { clearRefreshCookie, isJsonContentType, refreshCookieOf, type Transport } from '../transport.js';
import { checkNewPassword, checkUsername } from '../users.js';

interface LoginBody {
  username: string;
  password: string;
  device?: Partial<Device>;
  transport?: Transport;
}

interface RefreshBody {
  refreshToken?: string;
}

interface PasswordBody {
  currentPassword: string;
  newPassword: string;
  revokeOtherSessions?: boolean;
}

export function authRoutes(service: Service): Route[] {
  const { engine, users, throttle, csrf } = service;

  /** Refresh and logout are cookie requests when the cookie is there: the CSRF proofs apply. */
  function csrfIfCookie(request: RouteRequest<unknown>): void {
    if (refreshCookieOf(request) !== undefined) csrf.check(request);
  }

  /**
   * The session a refresh token belongs to, if the token is one the session ever issued (current or
   * superseded). Knowing a sid alone (it is in every access token) must not allow logging it out.
   */
  async function sessionOfRefreshToken(token: string): Promise<SessionRecord> {
    const parsed = parseRefreshToken(token);
    const session = parsed ? await engine.getSession(parsed.sid) : null;
    const issued =
      parsed !== null &&
      session !== null &&
      [session.refresh.hash, session.refresh.previousHash, ...session.refresh.olderHashes].some((h) => hashesEqual(h, parsed.secretHash));
    if (!issued) throw new TesseraError('invalid_refresh_token', 'the refresh token is not valid');
    return session!;
  }

  const login = route<LoginBody>({
    method: 'POST',
    url: '/v1/auth/login',
    schema: {
      tags: ['auth'],
      summary: 'Sign in with a built-in user: creates a session (a device) and returns its first tokens',
      body: loginBody,
      response: { 200: tokenResponseSchema, ...errorResponses },
    },
    // The transport defaults to `cookie`, and the body that could say otherwise is not parsed yet:
    // a login that is not JSON is refused here, before any parser runs (a form post is the CSRF vector).
    onRequest: [
      (request) => {
        if (!isJsonContentType(headerValue(request.headers, 'content-type'))) {
          throw new TesseraError('forbidden', 'a login must have Content-Type: application/json');
        }
      },
    ],
    // Login CSRF (DESIGN "Contract details"): a cookie-transport login plants a session cookie, so it
    // needs the same proofs as any other cookie request. Checked once the body is valid (a malformed
    // body is a 400 whoever sends it; nothing has happened yet either way).
    preHandler: [
      (request) => {
        if (request.body.transport !== 'header') csrf.check(request);
      },
    ],
    async handler(request, reply) {
      const { username, password, device } = request.body;
      const transport = request.body.transport ?? 'cookie';
      const ctx = requestContext(request);
      let account: string;
      try {
        account = checkUsername(username);
      } catch {
        account = username.toLowerCase();
      }
      try {
        await throttle.attempt(account, request.ip);
      } catch (error) {
        if (isTesseraError(error, 'rate_limited')) engine.recordEvent({ type: 'login.failed', sid: null, userId: null, ...ctx, reason: 'rate_limited' });
        throw error;
      }
      const user = await users.authenticate(username, password);
      if (!user) {
        engine.recordEvent({ type: 'login.failed', sid: null, userId: null, ...ctx, reason: 'invalid_credentials' });
        // One status, body and (thanks to the dummy hash) timing for unknown users and wrong passwords.
        throw new TesseraError('invalid_credentials', 'the username or password is incorrect');
      }
      const issued = await engine.createSession({ userId: user.id, ...(device ? { device } : {}) }, ctx);
      return tokenResponse(reply, issued, transport);
    },
  });

  const refresh = route<RefreshBody | null>({
    method: 'POST',
    url: '/v1/auth/refresh',
    schema: {
      tags: ['auth'],
      summary: 'Rotate the refresh token (cookie, or `refreshToken` in the body) and get a new access token',
      body: refreshBody,
      response: { 200: tokenResponseSchema, ...errorResponses },
    },
    onRequest: [csrfIfCookie],
    async handler(request, reply) {
      const fromBody = request.body?.refreshToken;
      const transport: Transport = fromBody !== undefined ? 'header' : 'cookie';
      const token = fromBody ?? refreshCookieOf(request);
      if (token === undefined) throw new TesseraError('invalid_refresh_token', 'no refresh token was sent');
      try {
        return tokenResponse(reply, await engine.refresh(token, requestContext(request)), transport);
      } catch (error) {
        // A cookie that can never work again is removed, so the browser stops sending it.
        if (transport === 'cookie' && isTesseraError(error) && error.status === 401) clearRefreshCookie(reply);
        throw error;
      }
    },
  });

  const logout = route<RefreshBody | null>({
    method: 'POST',
    url: '/v1/auth/logout',
    schema: {
      tags: ['auth'],
      summary: 'Revoke this session (by access token, or by refresh token); 204 also when already revoked',
      body: refreshBody,
      response: { 204: { type: 'null', description: 'revoked (or already revoked)' }, ...errorResponses },
    },
    onRequest: [csrfIfCookie],
    async handler(request, reply) {
      clearRefreshCookie(reply);
      const ctx = requestContext(request);
      const refresh = request.body?.refreshToken ?? refreshCookieOf(request);
      const access = bearerToken(request);
      if (access !== null) {
        try {
          const verified = await verifyCounted(service, access);
          await engine.revoke(verified.sessionId, 'logout', ctx);
          return reply.code(204).send();
        } catch (error) {
          if (isTesseraError(error, 'session_revoked')) return reply.code(204).send();
          // An expired access token cannot prove anything; a refresh token sent alongside still can.
          if (refresh === undefined || !isTesseraError(error) || error.code === 'store_unavailable') throw error;
        }
      }
      if (refresh === undefined) throw new TesseraError('unauthorized', 'logout needs an access token or a refresh token');
      const session = await sessionOfRefreshToken(refresh);
      if (session.revokedAt === null) await engine.revoke(session.sid, 'logout', ctx);
      return reply.code(204).send();
    },
  });

  const password = route<PasswordBody>({
    method: 'POST',
    url: '/v1/auth/password',
    schema: {
      tags: ['auth'],
      summary: "Change the caller's password; by default also revokes the user's other sessions (the caller's survives)",
      security: [{ accessToken: [] }],
      body: passwordChangeBody,
      response: { 204: { type: 'null', description: 'changed' }, ...errorResponses },
    },
    async handler(request, reply) {
      const access = await authenticate(service, request);
      const ctx = requestContext(request);
      const user = await engine.store.getUser(access.userId);
      if (!user) throw new TesseraError('forbidden', 'this user has no password in Tessera');
      // Same counter as sign-in: a stolen access token must not buy unlimited password guesses.
      await throttle.attempt(user.username, request.ip);
      if (!(await users.checkPassword(user, request.body.currentPassword))) {
        engine.recordEvent({ type: 'login.failed', sid: access.sessionId, userId: access.userId, ...ctx, reason: 'invalid_credentials' });
        throw new TesseraError('invalid_credentials', 'the current password is incorrect');
      }
      checkNewPassword(request.body.newPassword);
      await users.setPassword(access.userId, request.body.newPassword);
      // OWASP ASVS 3.3.3 / Session Management Cheat Sheet: after a password change, other sessions end.
      if (request.body.revokeOtherSessions ?? true) {
        await engine.revokeUser(access.userId, { exceptSid: access.sessionId, reason: 'password_changed' }, ctx);
      }
      return reply.code(204).send();
    },
  });

  return [login, refresh, logout, password];
}
