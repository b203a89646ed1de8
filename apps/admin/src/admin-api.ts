/**
 * The admin API of a Tessera service (`Authorization: Bearer <admin key>`), as the dashboard uses
 * it: nothing but the endpoints of the contract (DESIGN.md, "Admin endpoints").
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

/** A built-in user (`GET /v1/admin/users/:usernameOrId`): never a password hash. */
export interface BuiltInUser {
  id: string;
  username: string;
  createdAt: number;
}

/** A signing key's times (`GET /v1/admin/keys`), ms since the epoch; no key material. */
export interface SigningKey {
  kid: string;
  /** Published in JWKS. */
  createdAt: number;
  /** Signs from. */
  activatesAt: number;
  /** Signs no more from; null while no newer key replaces it. */
  retiresAt: number | null;
  /** Leaves JWKS; null while it is not retired. */
  expiresAt: number | null;
}

export interface KeySet {
  /** Newest first. */
  keys: SigningKey[];
  /** The service's clock when it answered. */
  now: number;
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
  /** A built-in user by username (the service normalises it) or else by id; null when neither matches. */
  user(usernameOrId: string): Promise<BuiltInUser | null>;
  userSessions(userId: string): Promise<SessionView[]>;
  revokeSession(sessionId: string): Promise<void>;
  revokeUser(userId: string): Promise<number>;
  /** The event log, oldest first, after the cursor (`id` of the last event read). */
  events(after: string | null, limit: number): Promise<StoredEvent[]>;
  /** The signing keys with their times, and the service's clock. */
  keys(): Promise<KeySet>;
}

export function createAdminApi(key: string, base = ''): AdminApi {
  async function call<T>(method: string, path: string): Promise<T> {
    let response: Response;
    try {
      response = await fetch(base + path, {
        method,
        headers: { Authorization: `Bearer ${key}` },
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
    async user(usernameOrId) {
      try {
        return await call<BuiltInUser>('GET', `/v1/admin/users/${id(usernameOrId)}`);
      } catch (error) {
        if (error instanceof AdminApiError && error.status === 404 && error.code === 'not_found') return null;
        throw error;
      }
    },
    userSessions: async (userId) => (await call<{ sessions: SessionView[] }>('GET', `/v1/admin/users/${id(userId)}/sessions`)).sessions,
    revokeSession: async (sessionId) => void (await call('DELETE', `/v1/admin/sessions/${id(sessionId)}`)),
    revokeUser: async (userId) => (await call<{ revoked: number }>('DELETE', `/v1/admin/users/${id(userId)}/sessions`)).revoked,
    events: async (after, limit) => (await call<{ events: StoredEvent[] }>('GET', `/v1/admin/events?limit=${limit}${after ? `&after=${id(after)}` : ''}`)).events,
    keys: () => call<KeySet>('GET', '/v1/admin/keys'),
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
