/**
 * Cookies, both ways, as RFC 6265bis (draft-ietf-httpbis-rfc6265bis) defines them.
 *
 * Serializing (§4.1.1): `name=value` then attributes. Names must be tokens (RFC 9110 §5.6.2) and values
 * cookie-octets (no CTLs, whitespace, DQUOTE, comma, semicolon or backslash); anything else is refused
 * rather than encoded, because every value we set is base64url and a surprise there is a bug.
 *
 * Parsing the `Cookie` request header (§5.4 is what user agents send: `name=value` pairs joined by
 * `; `): pairs without `=` are skipped, names and values are trimmed of whitespace, a value in double
 * quotes is unquoted, and the first pair of a name wins (user agents list the most specific cookie
 * first; with a `__Host-` name there is no other to shadow it, §4.1.3.2).
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_OCTETS = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

export interface CookieAttributes {
  /** Seconds (§5.6.2); 0 removes the cookie. */
  maxAge?: number;
  /** Sent as `Expires=` (§5.6.1), for agents that ignore Max-Age. */
  expires?: Date;
  path?: string;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'strict' | 'lax' | 'none';
}

export function serializeCookie(name: string, value: string, attributes: CookieAttributes = {}): string {
  if (!TOKEN.test(name)) throw new TypeError(`cookie name ${JSON.stringify(name)} is not a token`);
  if (!COOKIE_OCTETS.test(value)) throw new TypeError(`the value of cookie ${name} has characters a cookie cannot carry`);
  const parts = [`${name}=${value}`];
  if (attributes.maxAge !== undefined) parts.push(`Max-Age=${Math.floor(attributes.maxAge)}`);
  if (attributes.path !== undefined) parts.push(`Path=${attributes.path}`);
  if (attributes.expires !== undefined) parts.push(`Expires=${attributes.expires.toUTCString()}`);
  if (attributes.httpOnly) parts.push('HttpOnly');
  if (attributes.secure) parts.push('Secure');
  if (attributes.sameSite) parts.push(`SameSite=${attributes.sameSite[0]!.toUpperCase()}${attributes.sameSite.slice(1)}`);
  return parts.join('; ');
}

/** The cookies of a `Cookie` header, by name (first occurrence wins). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = Object.create(null) as Record<string, string>;
  if (typeof header !== 'string' || header === '') return cookies;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    if (!name || name in cookies) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    cookies[name] = value;
  }
  return cookies;
}
