/**
 * The server's clock, seen from the browser. Token expiry is decided on the server's clock, and a
 * laptop's clock can be minutes off: comparing `accessTokenExpiresAt` with `Date.now()` directly
 * would refresh too late (a token rejected as expired) or in a loop (a token that looks expired the
 * moment it arrives).
 */

/**
 * Estimates `serverClock - localClock` from one exchange, assuming the server read its clock
 * halfway through the round trip (the NTP midpoint estimate; the error is at most half the round
 * trip). `sentAt` and `receivedAt` are local times around the request; `serverTime` is the
 * `serverTime` of the token response.
 */
export function clockOffset(serverTime: number, sentAt: number, receivedAt: number): number {
  return Math.round(serverTime - (sentAt + receivedAt) / 2);
}
