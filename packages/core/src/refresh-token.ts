import { SECRET_PATTERN, SID_PATTERN, hashSecret } from './ids.js';

/** A refresh token is `<sid>.<secret>`: the sid routes the lookup, only SHA-256(secret) is stored. */
export function formatRefreshToken(sid: string, secret: string): string {
  return `${sid}.${secret}`;
}

export interface ParsedRefreshToken {
  sid: string;
  secretHash: string;
}

/** Strictly parses a refresh token; anything not of the exact shape is `null` (never a throw). */
export function parseRefreshToken(token: unknown): ParsedRefreshToken | null {
  if (typeof token !== 'string' || token.length !== 70) return null;
  const sid = token.slice(0, 26);
  const secret = token.slice(27);
  if (token[26] !== '.' || !SID_PATTERN.test(sid) || !SECRET_PATTERN.test(secret)) return null;
  return { sid, secretHash: hashSecret(secret) };
}
