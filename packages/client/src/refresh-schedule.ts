/**
 * When to refresh: before the access token expires by a margin, on the server's clock. Pure, so
 * it is tested with numbers instead of timers.
 */

/** The margin never exceeds this share of the token's lifetime, so short-lived tokens still get used. */
const MAX_MARGIN_SHARE = 0.25;

/**
 * The server time at which a token that expires at `expiresAt` (server ms) and lives `lifetime` ms
 * should be refreshed: `margin` ms before expiry, capped at a quarter of the lifetime.
 */
export function refreshDueAt(expiresAt: number, lifetime: number, margin: number): number {
  return expiresAt - Math.max(0, Math.min(margin, lifetime * MAX_MARGIN_SHARE));
}

/** Milliseconds from now until the refresh is due (0 when overdue), given the server's clock now. */
export function refreshDelay(expiresAt: number, lifetime: number, margin: number, serverNow: number): number {
  return Math.max(0, refreshDueAt(expiresAt, lifetime, margin) - serverNow);
}
