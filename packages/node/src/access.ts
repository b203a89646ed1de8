/**
 * Route protection with no web framework: from a request's `Authorization` header (or, where the app
 * asks for it, an access-token cookie) to either the caller (`TesseraAuth`) or the contract's error
 * answer. The Express, Fastify and Hono adapters only translate requests in and answers out.
 *
 * - Bearer tokens, RFC 6750 §2.1: `Authorization: Bearer <token>`, the scheme case-insensitive. Tokens
 *   in the URL (§2.3) are never read: URLs end up in logs, histories and Referer headers (§5.3).
 * - Errors, RFC 6750 §3: a 401 carries `WWW-Authenticate: Bearer realm=...`, with `error="invalid_token"`
 *   when a token was presented and failed, and no error code when none was presented (§3.1); a
 *   missing claim is a 403 with `error="insufficient_scope"`. The body is the contract's
 *   `{"error": {"code", "message"}}` with core's stable codes; `Cache-Control: no-store`.
 * - The token itself is checked by the verifier (core's `Verifier`, RFC 8725: EdDSA only, `typ`,
 *   `iss`, `aud`, times, strict syntax first), then against the revocation set, with no store round
 *   trip while the revocation feed is healthy. A verifier that fails closed (stale feed and `reject`,
 *   or an unreachable fallback) answers 503 `store_unavailable`: never a silent accept.
 * - Cookies, RFC 6265bis: an access-token cookie should be `__Host-` prefixed (§4.1.3.2), HttpOnly,
 *   Secure and SameSite. Because a browser attaches cookies to cross-site requests that SameSite does
 *   not stop (same-site sibling origins, top-level GETs with Lax), a cookie-authenticated request with
 *   an unsafe method (RFC 9110 §9.2.1) must also carry `X-Tessera-CSRF: 1`, a header no cross-site form
 *   can send (OWASP CSRF Prevention Cheat Sheet, "custom request headers"). A request with a Bearer
 *   header needs no such proof: nothing ambient authenticated it.
 */
import { TesseraError, isTesseraError, type VerifiedAccess } from '@tessera/core';
import { bearerTokenOf, errorBody, parseCookies } from '@tessera/server/http';

/** The claims of an access token (jose's `JWTPayload`). */
export type JWTPayload = VerifiedAccess['claims'];

/** The caller of a protected route. */
export interface TesseraAuth {
  userId: string;
  sessionId: string;
  /** Every claim of the access token, registered and application ones. */
  claims: JWTPayload;
}

/** Anything that verifies access tokens: an `Engine` (in process), a `RemoteVerifier`, core's `Verifier`. */
export interface AccessVerifier {
  verify(token: unknown): Promise<VerifiedAccess>;
}

export type ClaimValue = string | number | boolean;

/**
 * What a route requires of the token's claims. As an object: every named claim must equal the value,
 * or one of the values when a list is given; a claim that is itself a list (`roles: [...]`) satisfies
 * the requirement when it contains a required value. As a function: any test of the claims.
 */
export type ClaimRequirements = Readonly<Record<string, ClaimValue | readonly ClaimValue[]>> | ((claims: JWTPayload) => boolean);

export interface ProtectOptions {
  verifier: AccessVerifier;
  /**
   * Also accept the access token from a cookie, when the request has no Bearer header: `true` for
   * `__Host-tessera_access`, or the cookie's name. Off by default.
   */
  cookie?: boolean | string;
  /**
   * Require `X-Tessera-CSRF: 1` on cookie-authenticated requests with unsafe methods. Default true;
   * turn it off only if the app has its own CSRF defence.
   */
  csrf?: boolean;
  /** The `realm` of WWW-Authenticate. Default `tessera`. */
  realm?: string;
}

export interface RouteRequirements {
  claims?: ClaimRequirements;
}

export const ACCESS_COOKIE = '__Host-tessera_access';
const CSRF_HEADER = 'x-tessera-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const TOKEN_FAILURES = new Set(['invalid_token', 'token_expired', 'session_revoked', 'session_expired']);

/** The parts of a request that protection reads, whatever the framework. */
export interface AccessRequest {
  method: string;
  authorization: string | undefined;
  cookie: string | undefined;
  csrf: string | undefined;
}

export interface Denial {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string } };
}

export type AccessOutcome = { ok: true; auth: TesseraAuth } | { ok: false; denial: Denial };

export type Authenticate = (request: AccessRequest, requirements?: RouteRequirements) => Promise<AccessOutcome>;

/**
 * The protection check. Resolves with the caller or with the denial to send; rejects only for
 * failures that are not the caller's (a bug, an error the verifier did not classify), which the
 * adapters hand to their framework's error handling.
 */
export function createAuthenticate(options: ProtectOptions): Authenticate {
  if (!options || typeof options.verifier?.verify !== 'function') throw new TesseraError('invalid_config', 'protection needs a verifier (an Engine or a RemoteVerifier)');
  const cookieName = options.cookie === true ? ACCESS_COOKIE : typeof options.cookie === 'string' && options.cookie ? options.cookie : null;
  const csrf = options.csrf ?? true;
  const realm = (options.realm ?? 'tessera').replace(/["\\]/g, '');

  function deny(error: TesseraError, presented: boolean): Denial {
    let challenge = `Bearer realm="${realm}"`;
    if (error.code === 'forbidden') challenge += ', error="insufficient_scope"';
    else if (presented && TOKEN_FAILURES.has(error.code)) challenge += ', error="invalid_token"';
    const headers: Record<string, string> = { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8' };
    if (error.status === 401 || error.status === 403) headers['www-authenticate'] = challenge;
    return { status: error.status, headers, body: errorBody(error) };
  }

  return async function authenticate(request, requirements) {
    let token = bearerTokenOf(request.authorization);
    if (token === null && cookieName !== null) {
      const fromCookie = parseCookies(request.cookie)[cookieName];
      if (fromCookie) {
        if (csrf && !SAFE_METHODS.has(request.method.toUpperCase()) && request.csrf !== '1') {
          return { ok: false, denial: deny(new TesseraError('forbidden', 'a cookie-authenticated request must carry the header X-Tessera-CSRF: 1'), true) };
        }
        token = fromCookie;
      }
    }
    if (token === null) {
      const how = cookieName === null ? 'Authorization: Bearer <token>' : `Authorization: Bearer <token> or the ${cookieName} cookie`;
      return { ok: false, denial: deny(new TesseraError('unauthorized', `an access token is required (${how})`), false) };
    }
    let verified: VerifiedAccess;
    try {
      verified = await options.verifier.verify(token);
    } catch (error) {
      if (isTesseraError(error)) return { ok: false, denial: deny(error, true) };
      throw error;
    }
    const auth: TesseraAuth = { userId: verified.userId, sessionId: verified.sessionId, claims: verified.claims };
    if (requirements?.claims && !satisfies(auth.claims, requirements.claims)) {
      return { ok: false, denial: deny(new TesseraError('forbidden', 'the access token lacks a claim this route requires'), true) };
    }
    return { ok: true, auth };
  };
}

/** Whether `claims` meet `requirements` (see `ClaimRequirements`). */
export function satisfies(claims: JWTPayload, requirements: ClaimRequirements): boolean {
  if (typeof requirements === 'function') return requirements(claims) === true;
  for (const [name, wanted] of Object.entries(requirements)) {
    const accepted: readonly ClaimValue[] = Array.isArray(wanted) ? wanted : [wanted as ClaimValue];
    const held = claims[name];
    const values = Array.isArray(held) ? held : [held];
    if (!values.some((value) => accepted.includes(value as ClaimValue))) return false;
  }
  return true;
}
