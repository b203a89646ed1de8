import { sign, type KeyObject } from 'node:crypto';
import { newJti } from './ids.js';

/** Claims the engine sets itself; application claims may not override them (RFC 9068 §2.2). */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set(['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp', 'nbf', 'typ', 'cnf']);

export interface AccessTokenInput {
  issuer: string;
  audience: string | string[];
  userId: string;
  sid: string;
  now: number;
  ttl: number;
  kid: string;
  privateKey: KeyObject;
  claims?: Record<string, unknown> | null;
}

/**
 * Signs an access token: a compact JWS with header `{alg: EdDSA, typ: at+jwt, kid}` (RFC 9068 §2.1)
 * and times in whole seconds. Returns the token and its expiry in ms.
 */
export function signAccessToken(input: AccessTokenInput): { token: string; expiresAt: number; jti: string } {
  const iat = Math.floor(input.now / 1000);
  const exp = Math.floor((input.now + input.ttl) / 1000);
  const jti = newJti();
  const header = { alg: 'EdDSA', typ: 'at+jwt', kid: input.kid };
  const payload = { ...(input.claims ?? {}), iss: input.issuer, aud: input.audience, sub: input.userId, sid: input.sid, jti, iat, exp };
  const signingInput = `${encode(header)}.${encode(payload)}`;
  const signature = sign(null, Buffer.from(signingInput), input.privateKey).toString('base64url');
  return { token: `${signingInput}.${signature}`, expiresAt: exp * 1000, jti };
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
