/** Upper bound on an access token's length; ours are ~300 characters plus application claims. */
export const MAX_ACCESS_TOKEN_LENGTH = 8192;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Strict compact-JWS syntax, checked before any cryptography (RFC 7515 §7.1, RFC 8725 §3.1):
 * exactly three non-empty base64url segments, no padding, no whitespace, bounded length. Some JOSE
 * libraries tolerate `=` padding or whitespace; we do not rely on them for this.
 */
export function isCompactJws(token: unknown, maxLength = MAX_ACCESS_TOKEN_LENGTH): token is string {
  return typeof token === 'string' && token.length <= maxLength && COMPACT_JWS.test(token);
}
