/** The wire types of the service's HTTP contract (v1), as the browser sees them. */

export type DeviceKind = 'desktop' | 'mobile' | 'tablet' | 'tv' | 'bot' | 'other';

export interface Device {
  name?: string;
  kind?: DeviceKind;
}

/** A session as `GET /v1/sessions` and the token response show it. Times are ms since the epoch, server clock. */
export interface SessionView {
  id: string;
  device: { name: string; kind: DeviceKind };
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  /** This is the session of the client that asked. */
  current: boolean;
}

export interface TokenResponse {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds. */
  expiresIn: number;
  accessTokenExpiresAt: number;
  session: SessionView;
  serverTime: number;
  /** Only with the `header` transport. */
  refreshToken?: string;
  refreshTokenExpiresAt?: number;
}

export type Transport = 'cookie' | 'header';

export interface SessionState {
  status: 'loading' | 'signed-in' | 'signed-out';
  /** The `sub` of the access token. */
  userId: string | null;
  session: SessionView | null;
  /** Server clock, ms since the epoch. */
  accessTokenExpiresAt: number | null;
}

/**
 * Why a session ended without this device asking: the service's revocation reasons (`evicted`,
 * `revoked`, `admin`, `reuse_detected`, `password_changed`, `logout` from another device,
 * `expired`), or `unknown` when a refresh was refused without one.
 */
export type EndReason = string;

export interface ClientEvents {
  /** Any change of `state` (sign-in, refresh, sign-out), in this tab or from another. */
  change: SessionState;
  /** New tokens, obtained by this tab or received from another. */
  refresh: { accessTokenExpiresAt: number };
  /** The session was ended by the service (pushed, or refused at refresh); every tab is signed out. */
  revoked: { reason: EndReason; at: number | null };
  /** The user logged out (`remote`: in another tab); every tab is signed out. */
  logout: { remote: boolean };
}
