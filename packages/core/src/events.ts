import type { RevokeReason } from './session.js';

export type SessionEventType =
  | 'session.created'
  | 'session.refreshed'
  | 'session.revoked'
  | 'session.evicted'
  | 'session.reuse_detected'
  | 'login.failed';

/** One state change, as appended to the store's event log and given to subscribers. */
export interface SessionEvent {
  type: SessionEventType;
  sid: string | null;
  userId: string | null;
  /** ms since the epoch. */
  at: number;
  ip?: string;
  userAgent?: string;
  /** The trace id of the W3C `traceparent` of the request that caused it, when there was one. */
  traceId?: string;
  reason?: RevokeReason | string;
}

/** An event as read back from a store's log: `id` is an opaque, increasing cursor. */
export interface StoredEvent extends SessionEvent {
  id: string;
}

/** Who caused an operation: copied onto its events. */
export interface RequestContext {
  ip?: string;
  userAgent?: string;
  traceId?: string;
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/** The trace id of a W3C `traceparent` header (Trace Context §3.2), or undefined if it is malformed. */
export function traceIdFromTraceparent(header: string | undefined | null): string | undefined {
  if (typeof header !== 'string' || header.length > 256) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match || match[1] === '0'.repeat(32) || header.startsWith('ff')) return undefined;
  return match[1];
}

export function contextFields(ctx: RequestContext | undefined): Pick<SessionEvent, 'ip' | 'userAgent' | 'traceId'> {
  const out: Pick<SessionEvent, 'ip' | 'userAgent' | 'traceId'> = {};
  if (ctx?.ip) out.ip = ctx.ip;
  if (ctx?.userAgent) out.userAgent = ctx.userAgent;
  if (ctx?.traceId) out.traceId = ctx.traceId;
  return out;
}
