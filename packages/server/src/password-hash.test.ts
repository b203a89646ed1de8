import { describe, expect, it } from 'vitest';
import { MemoryStore, ManualClock } from '@tessera/core';
import { OWASP_SCRYPT, hashPassword, needsRehash, verifyPassword } from './password-hash.js';
import { UserDirectory, checkNewPassword, checkUsername, normaliseUsername } from './users.js';
import { addressKey } from './login-throttle.js';

describe('scrypt password hashes', () => {
  it("uses OWASP's parameters by default, in a self-describing PHC string", async () => {
    expect(OWASP_SCRYPT).toEqual({ ln: 17, r: 8, p: 1 });
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    // 16-byte salt, 32-byte key.
    const [, , , salt, key] = hash.split('$');
    expect(Buffer.from(salt!, 'base64')).toHaveLength(16);
    expect(Buffer.from(key!, 'base64')).toHaveLength(32);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', hash)).toBe(false);
    expect(needsRehash(hash)).toBe(false);
  });

  it('salts every hash; verifies with the parameters in the string; NFKC-normalises passwords', async () => {
    const cheap = { ln: 10, r: 8, p: 1 };
    const a = await hashPassword('Ｐａｓｓｗｏｒｄ-123', cheap);
    const b = await hashPassword('Ｐａｓｓｗｏｒｄ-123', cheap);
    expect(a).not.toBe(b);
    expect(await verifyPassword('Password-123', a)).toBe(true);
    expect(needsRehash(a)).toBe(true);
    expect(needsRehash(a, cheap)).toBe(false);
  });

  it('a malformed or out-of-bounds hash verifies nothing and never throws', async () => {
    for (const bad of ['', 'plain', '$scrypt$ln=17,r=8,p=1$x$y', '$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(43), '$argon2id$v=19$m=65536,t=3,p=4$abc$def']) {
      await expect(verifyPassword('anything', bad)).resolves.toBe(false);
      expect(needsRehash(bad)).toBe(true);
    }
  });
});

describe('usernames, passwords, addresses', () => {
  it('normalises usernames with NFKC and lower case, and refuses spaces and control characters', () => {
    expect(normaliseUsername('Ａｌｉｃｅ')).toBe('alice');
    expect(checkUsername('Bob@Example.COM')).toBe('bob@example.com');
    expect(() => checkUsername('a b')).toThrow(/spaces/);
    expect(() => checkUsername('a\u0000')).toThrow();
    expect(() => checkUsername('a\u200b')).toThrow();
    expect(() => checkUsername('')).toThrow();
    expect(() => checkUsername('x'.repeat(129))).toThrow();
  });

  it('new passwords: 12 to 128 characters (OWASP ASVS 2.1.1, 2.1.2), counted as code points', () => {
    expect(() => checkNewPassword('short')).toThrow(/12 to 128/);
    expect(checkNewPassword('twelve chars')).toBe('twelve chars');
    expect(checkNewPassword('🙂'.repeat(12))).toBe('🙂'.repeat(12));
    expect(() => checkNewPassword('x'.repeat(129))).toThrow();
  });

  it('throttles IPv6 clients by /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:0db8:0001:0002::/64');
    expect(addressKey('2001:db8:1:2::9')).toBe('2001:0db8:0001:0002::/64');
    expect(addressKey('::1')).toBe('0000:0000:0000:0000::/64');
  });
});

describe('sign-in timing', () => {
  it('an unknown username costs the same scrypt as a wrong password (dummy hash, OWASP parameters)', async () => {
    const store = new MemoryStore();
    const users = new UserDirectory({ store, clock: new ManualClock() });
    await users.create('alice', 'correct horse battery staple');
    await users.prepare();
    const time = async (username: string) => {
      const start = performance.now();
      expect(await users.authenticate(username, 'wrong password here')).toBeNull();
      return performance.now() - start;
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      wrong.push(await time('alice'));
      unknown.push(await time('nobody'));
    }
    const [w, u] = [median(wrong), median(unknown)];
    // Both pay a full N=2^17 scrypt (tens to hundreds of ms); the store lookup is noise next to it.
    expect(w).toBeGreaterThan(20);
    expect(Math.abs(w - u) / Math.max(w, u)).toBeLessThan(0.35);
    await store.close();
  }, 60_000);
});
