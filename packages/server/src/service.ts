/**
 * What every route of the service shares, and the small request-level helpers they all use. Nothing
 * here knows a web framework: requests and replies are the contract core's (http/route.ts).
 */
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
import type { Reply, RouteRequest } from './http/route.js';
import { headerValue, type RequestHeaders } from './http/types.js';
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
export function requestContext(request: Pick<RouteRequest, 'ip' | 'headers'>): RequestContext {
  const ctx: RequestContext = { ip: request.ip };
  const userAgent = headerValue(request.headers, 'user-agent');
  if (typeof userAgent === 'string' && userAgent) ctx.userAgent = userAgent;
  const traceId = traceIdOf(request);
  if (traceId) ctx.traceId = traceId;
  return ctx;
}

export function traceIdOf(request: { headers: RequestHeaders }): string | undefined {
  return traceIdFromTraceparent(headerValue(request.headers, 'traceparent'));
}

/**
 * The token of `Authorization: Bearer <token>`, or null. RFC 6750 §2.1: the scheme name is
 * case-insensitive (RFC 9110 §11.1); the token is one run of non-space characters (its b64token
 * syntax is checked by whoever verifies it, e.g. `isCompactJws` for access tokens).
 */
export function bearerTokenOf(header: string | undefined): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer +([^\s]+) *$/i.exec(header);
  return match ? match[1]! : null;
}

export function bearerToken(request: { headers: RequestHeaders }): string | null {
  return bearerTokenOf(headerValue(request.headers, 'authorization'));
}

/** Verifies the caller's access token (no store round trip on the fast path) and counts the outcome. */
export async function authenticate(service: Service, request: { headers: RequestHeaders }): Promise<VerifiedAccess> {
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
export function tokenResponse(reply: Reply, issued: IssuedTokens, transport: Transport) {
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
