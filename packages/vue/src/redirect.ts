/**
 * The page to return to after login, taken from the login route's query. Only a path on this
 * origin is accepted: `//evil.example`, `/\evil.example`, `https://...` and `javascript:` fall back,
 * so the login page cannot be turned into an open redirect (OWASP ASVS 4.0.3 V5.1.5).
 */
export function safeRedirect(value: unknown, fallback = '/'): string {
  const target = Array.isArray(value) ? value[0] : value;
  if (typeof target !== 'string' || !target.startsWith('/') || target.startsWith('//') || target.startsWith('/\\')) return fallback;
  // Control characters (a tab or newline is stripped by URL parsers, turning "/\t/evil" into "//evil").
  return /[\u0000-\u001f\u007f]/.test(target) ? fallback : target;
}
