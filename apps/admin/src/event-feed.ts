/**
 * The live event feed: follows `GET /v1/admin/events?after=<cursor>` (the store's event log, oldest
 * first) and keeps the newest events for display. Polling the log, rather than the revocation
 * stream, shows every kind of event (sign-ins, refreshes, failures), in the log's order.
 */
import type { AdminApi, StoredEvent } from './admin-api';

/** The service's reasons (revocations, failed sign-ins), as a few words; the code itself goes in a tooltip. */
const REASONS: Record<string, string> = {
  logout: 'logout',
  evicted: 'device limit',
  revoked: 'by the user',
  admin: 'by an admin',
  reuse_detected: 'token reuse',
  password_changed: 'password changed',
  expired: 'expired',
  invalid_credentials: 'wrong credentials',
};

export function reasonText(reason: string): string {
  return Object.hasOwn(REASONS, reason) ? REASONS[reason]! : reason;
}

/** How an event reads in the feed. */
export function describeEvent(event: Pick<StoredEvent, 'type' | 'reason'>): { label: string; tone: 'ok' | 'info' | 'warn' | 'danger' } {
  const why = event.reason ? ` · ${reasonText(event.reason)}` : '';
  switch (event.type) {
    case 'session.created':
      return { label: 'Signed in', tone: 'ok' };
    case 'session.refreshed':
      return { label: 'Refreshed', tone: 'info' };
    case 'session.revoked':
      return { label: `Revoked${why}`, tone: event.reason === 'reuse_detected' ? 'danger' : 'warn' };
    case 'session.evicted':
      return { label: 'Evicted', tone: 'warn' };
    case 'session.reuse_detected':
      return { label: 'Reuse detected', tone: 'danger' };
    case 'login.failed':
      return { label: `Sign-in failed${why}`, tone: 'danger' };
    default:
      return { label: event.type, tone: 'info' };
  }
}

/** The feed after `batch` (oldest first) arrived: newest first, at most `cap`, no duplicates. */
export function mergeEvents(feed: readonly StoredEvent[], batch: readonly StoredEvent[], cap: number): StoredEvent[] {
  const seen = new Set(feed.map((event) => event.id));
  const fresh = batch.filter((event) => !seen.has(event.id)).reverse();
  return [...fresh, ...feed].slice(0, cap);
}

/** `abcdefghijkl…` → `abcd…ijkl`: enough to tell ids apart at a glance. */
export function shortId(id: string, keep = 6): string {
  return id.length <= keep * 2 + 1 ? id : `${id.slice(0, keep)}…${id.slice(-keep)}`;
}

export interface FollowOptions {
  /** Called with each batch of new events, oldest first (the first call has the backlog). */
  onEvents(events: StoredEvent[]): void;
  /** Called after each poll: `null` when it worked. */
  onStatus(error: unknown | null): void;
  /** Between polls, ms. Default 1000. */
  interval?: number;
  /** Page size. Default 500. */
  limit?: number;
}

/** Follows the event log until the returned function is called. */
export function followEvents(api: Pick<AdminApi, 'events'>, options: FollowOptions): () => void {
  const interval = options.interval ?? 1000;
  const limit = options.limit ?? 500;
  let cursor: string | null = null;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function poll() {
    try {
      // Read every page there is; a full page means there may be more.
      for (;;) {
        const events = await api.events(cursor, limit);
        if (stopped) return;
        if (events.length > 0) {
          cursor = events[events.length - 1]!.id;
          options.onEvents(events);
        }
        if (events.length < limit) break;
      }
      options.onStatus(null);
    } catch (error) {
      if (!stopped) options.onStatus(error);
    }
    if (!stopped) timer = setTimeout(poll, interval);
  }
  void poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
