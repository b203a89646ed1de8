import { describe, expect, it } from 'vitest';
import { parseCookies, serializeCookie } from './cookies.js';

describe('cookies (RFC 6265bis)', () => {
  it('serializes name=value then attributes, and refuses what a cookie cannot carry', () => {
    expect(serializeCookie('__Host-x', 'abc.DEF_-', { maxAge: 604800, path: '/', httpOnly: true, secure: true, sameSite: 'strict' })).toBe(
      '__Host-x=abc.DEF_-; Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=Strict',
    );
    expect(serializeCookie('x', '', { maxAge: 0, expires: new Date(0), path: '/' })).toBe('x=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    for (const value of ['a;b', 'a b', 'a,b', 'a"b', 'a\\b', 'é', 'a\nb']) expect(() => serializeCookie('x', value)).toThrow(TypeError);
    for (const name of ['', 'a b', 'a=b', 'a;b', '(x)']) expect(() => serializeCookie(name, 'v')).toThrow(TypeError);
  });

  it('parses a Cookie header: first of a name wins, whitespace trimmed, quotes removed, junk skipped', () => {
    expect(parseCookies('a=1; b = 2 ;c="3"; junk; a=shadow; =nameless; d=')).toEqual({ a: '1', b: '2', c: '3', d: '' });
    expect(parseCookies(undefined)).toEqual({});
    const parsed = parseCookies('__proto__=x; constructor=y');
    expect(Object.getPrototypeOf(parsed)).toBeNull();
    expect(parsed.__proto__).toBe('x');
  });
});
