/**
 * The service's push channel (`GET /v1/events`): tells this device the moment its session is
 * revoked, so every tab can sign out at once instead of at its next failed request.
 *
 * The access token goes in the first message, never in the URL (URLs end up in logs, history and
 * Referer headers: OWASP ASVS 4.0.3 V3.1.1). A dropped connection is retried with capped
 * exponential backoff and jitter; a connection that stayed up a while resets the backoff.
 */
import { backoffDelay } from './backoff.js';

export interface RevocationNotice {
  sessionId?: string;
  reason: string;
  at?: number;
}

export interface EventsSocketOptions {
  url: string;
  /** The access token to authenticate with; null stops the socket (signed out). */
  token: () => Promise<string | null>;
  onRevoked: (notice: RevocationNotice) => void;
}

/** Close codes of the contract: revoked (after the notice), and bad authentication. */
const CLOSE_REVOKED = 4001;
const STABLE_MS = 10_000;

export function openEventsSocket(options: EventsSocketOptions): () => void {
  let stopped = false;
  let attempt = 0;
  let socket: WebSocket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const retry = () => {
    if (!stopped) timer = setTimeout(connect, backoffDelay(attempt++));
  };

  async function connect(): Promise<void> {
    let token: string | null;
    try {
      token = await options.token();
    } catch {
      return retry(); // offline: the token could not be refreshed yet
    }
    if (stopped || !token) return;
    const ws = (socket = new WebSocket(options.url));
    let openedAt = 0;
    ws.onopen = () => {
      openedAt = Date.now();
      ws.send(JSON.stringify({ type: 'auth', accessToken: token }));
    };
    ws.onmessage = (event) => {
      let message: { type?: unknown; sessionId?: string; reason?: unknown; at?: number };
      try {
        message = JSON.parse(String(event.data)) as typeof message;
      } catch {
        return;
      }
      if (message.type === 'session.revoked') revoked({ sessionId: message.sessionId, reason: String(message.reason ?? 'revoked'), at: message.at });
    };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      // 4001 carries the reason as its close reason too, in case the notice itself was lost.
      if (event.code === CLOSE_REVOKED) return revoked({ reason: event.reason || 'revoked' });
      if (openedAt && Date.now() - openedAt > STABLE_MS) attempt = 0;
      retry();
    };
  }

  function revoked(notice: RevocationNotice): void {
    if (stopped) return;
    stop();
    options.onRevoked(notice);
  }

  function stop(): void {
    stopped = true;
    clearTimeout(timer);
    socket?.close(1000);
  }

  void connect();
  return stop;
}
