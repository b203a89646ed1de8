/**
 * The admin API of a Tessera service (`Authorization: Bearer <admin key>`), as the dashboard uses
 * it: nothing but the endpoints of the contract (DESIGN.md, "Admin endpoints"), plus the public JWKS.
 *
 * The key lives in this tab's memory and in `sessionStorage` (so a reload keeps it and closing the
 * tab forgets it), never in `localStorage`, which every tab and every later visit would share.
 */

export interface SessionView {
  id: string;
  device: { name: string; kind: string };
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  current: boolean;
}

export interface StoredEvent {
  id: string;
  type: string;
  sid: string | null;
  userId: string | null;
  at: number;
  ip?: string;
  userAgent?: string;
  traceId?: string;
  reason?: string;
}

export interface PublicKey {
  kid: string;
  kty: string;
  crv?: string;
  alg?: string;
  use?: string;
}

/** A refusal of the service, by its stable `error.code` (or `network_error`). */
export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface AdminApi {
  /** Checks the key: resolves when the service accepts it. */
  check(): Promise<void>;
  userSessions(userId: string): Promise<SessionView[]>;
  revokeSession(sessionId: string): Promise<void>;
  revokeUser(userId: string): Promise<number>;
  /** The event log, oldest first, after the cursor (`id` of the last event read). */
  events(after: string | null, limit: number): Promise<StoredEvent[]>;
  /** The published signing keys (the public JWKS document). */
  signingKeys(): Promise<PublicKey[]>;
}

export function createAdminApi(key: string, base = ''): AdminApi {
  async function call<T>(method: string, path: string, authenticated = true): Promise<T> {
    let response: Response;
    try {
      response = await fetch(base + path, {
        method,
        headers: authenticated ? { Authorization: `Bearer ${key}` } : {},
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (error) {
      throw new AdminApiError('network_error', String(error), 0);
    }
    const body = response.status === 204 ? undefined : ((await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined);
    if (!response.ok) throw new AdminApiError(body?.error?.code ?? 'http_error', body?.error?.message ?? response.statusText, response.status);
    return body as T;
  }
  const id = (value: string) => encodeURIComponent(value);
  return {
    check: async () => void (await call('GET', '/v1/admin/events?limit=1')),
    userSessions: async (userId) => (await call<{ sessions: SessionView[] }>('GET', `/v1/admin/users/${id(userId)}/sessions`)).sessions,
    revokeSession: async (sessionId) => void (await call('DELETE', `/v1/admin/sessions/${id(sessionId)}`)),
    revokeUser: async (userId) => (await call<{ revoked: number }>('DELETE', `/v1/admin/users/${id(userId)}/sessions`)).revoked,
    events: async (after, limit) => (await call<{ events: StoredEvent[] }>('GET', `/v1/admin/events?limit=${limit}${after ? `&after=${id(after)}` : ''}`)).events,
    signingKeys: async () => (await call<{ keys: PublicKey[] }>('GET', '/.well-known/jwks.json', false)).keys,
  };
}

/** What to tell the operator when the key is refused. */
export function keyProblem(error: unknown): string {
  if (!(error instanceof AdminApiError)) return 'Something went wrong. Try again.';
  if (error.status === 404) return 'The admin API of this service is off. Start it with TESSERA_ADMIN_KEY set (at least 32 characters).';
  if (error.status === 401 || error.code === 'unauthorized') return 'That admin key is not right.';
  if (error.code === 'network_error') return 'The service cannot be reached.';
  return error.message;
}

const KEY_ITEM = 'tessera-admin-key';

export const savedKey = {
  load: (): string | null => sessionStorage.getItem(KEY_ITEM),
  save: (key: string) => sessionStorage.setItem(KEY_ITEM, key),
  forget: () => sessionStorage.removeItem(KEY_ITEM),
};
