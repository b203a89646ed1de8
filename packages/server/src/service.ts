/**
 * What every route of the service shares, and the small request-level helpers they all use.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  TesseraError,
  sessionView,
  traceIdFromTraceparent,
  type Clock,
  type Engine,
  type IssuedTokens,
  type RequestContext,
  type VerifiedAccess,
} from '@tessera/core';
import type { LoginThrottle } from './login-throttle.js';
import type { ServiceMetrics } from './metrics.js';
import type { RevocationHub } from './push.js';
import { setRefreshCookie, type CsrfGuard, type Transport } from './transport.js';
import type { UserDirectory } from './users.js';

export interface Service {
  engine: Engine;
  users: UserDirectory;
  throttle: LoginThrottle;
  csrf: CsrfGuard;
  metrics: ServiceMetrics;
  hub: RevocationHub;
  clock: Clock;
  /** `null`: the admin API is off (its routes do not exist). */
  adminKey: string | null;
  /** How long revocation entries are kept: `/v1/admin/revocations` reads this far back by default. */
  retention: number;
  websocketAuthTimeout: number;
  sseHeartbeatInterval: number;
}

/** Who is asking, copied onto the engine's events (and so into the event log). */
export function requestContext(request: FastifyRequest): RequestContext {
  const ctx: RequestContext = { ip: request.ip };
  const userAgent = request.headers['user-agent'];
  if (typeof userAgent === 'string' && userAgent) ctx.userAgent = userAgent;
  const traceId = traceIdOf(request);
  if (traceId) ctx.traceId = traceId;
  return ctx;
}

export function traceIdOf(request: { headers: FastifyRequest['headers'] }): string | undefined {
  const header = request.headers.traceparent;
  return traceIdFromTraceparent(Array.isArray(header) ? header[0] : header);
}

/** The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive), or null. */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer +([^\s]+) *$/i.exec(header);
  return match ? match[1]! : null;
}

/** Verifies the caller's access token (no store round trip on the fast path) and counts the outcome. */
export async function authenticate(service: Service, request: FastifyRequest): Promise<VerifiedAccess> {
  const token = bearerToken(request);
  if (token === null) {
    service.metrics.verifications.inc({ outcome: 'missing' });
    throw new TesseraError('unauthorized', 'an access token is required (Authorization: Bearer <token>)');
  }
  return verifyCounted(service, token);
}

export async function verifyCounted(service: Service, token: unknown): Promise<VerifiedAccess> {
  try {
    const access = await service.engine.verify(token);
    service.metrics.verifications.inc({ outcome: 'ok' });
    return access;
  } catch (error) {
    service.metrics.verifications.inc({ outcome: error instanceof TesseraError ? error.code : 'internal_error' });
    throw error;
  }
}

/**
 * The token response of the contract. With the cookie transport the refresh token goes into the
 * `__Host-` cookie and never into the body (a script that can read the body cannot read the cookie).
 */
export function tokenResponse(reply: FastifyReply, issued: IssuedTokens, transport: Transport) {
  if (transport === 'cookie') setRefreshCookie(reply, issued.refreshToken, issued.refreshTokenExpiresAt, issued.serverTime);
  return {
    accessToken: issued.accessToken,
    tokenType: issued.tokenType,
    expiresIn: issued.expiresIn,
    accessTokenExpiresAt: issued.accessTokenExpiresAt,
    session: sessionView(issued.session, issued.session.sid),
    serverTime: issued.serverTime,
    ...(transport === 'header' ? { refreshToken: issued.refreshToken } : {}),
    refreshTokenExpiresAt: issued.refreshTokenExpiresAt,
  };
}
