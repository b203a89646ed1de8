/**
 * Throttling of password checks, per account and per client address (OWASP ASVS 2.2.1: anti-
 * automation against credential stuffing and brute force; OWASP Authentication Cheat Sheet,
 * "Account lockout" — we throttle for a window, we never lock an account for good).
 *
 * Counters live in the store (`SessionStore.hit`, atomic across processes), so a limit holds however
 * many nodes an attacker spreads attempts over. Every *attempt* is counted before the password is
 * checked: the store has no read-without-count, and counting only failures would need a read first —
 * otherwise an attacker over the limit would still learn, from a 200, when a guess was right.
 */
import { createHash } from 'node:crypto';
import { TesseraError, type Clock, type SessionStore } from '@tessera/core';

export interface LoginLimits {
  /** Attempts per account per window. 0 = no limit. */
  perAccount: number;
  /** Attempts per client address (IPv6: per /64) per window. 0 = no limit. */
  perAddress: number;
  /** Window length in ms. */
  window: number;
}

export const DEFAULT_LOGIN_LIMITS: Readonly<LoginLimits> = Object.freeze({ perAccount: 10, perAddress: 100, window: 5 * 60_000 });

export class LoginThrottle {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #limits: LoginLimits;

  constructor(store: SessionStore, clock: Clock, limits: LoginLimits) {
    this.#store = store;
    this.#clock = clock;
    this.#limits = limits;
  }

  /**
   * Counts one attempt for `account` (a normalised username) and `address`; throws
   * `rate_limited` with `retryAfter` (seconds) when either is over its limit.
   */
  async attempt(account: string | null, address: string | null): Promise<void> {
    const now = this.#clock.now();
    const { perAccount, perAddress, window } = this.#limits;
    const checks: Promise<{ count: number; resetAt: number; limit: number }>[] = [];
    if (account !== null && perAccount > 0) checks.push(this.#hit(`login:acct:${digest(account)}`, window, now, perAccount));
    if (address !== null && perAddress > 0) checks.push(this.#hit(`login:addr:${addressKey(address)}`, window, now, perAddress));
    const results = await Promise.all(checks);
    const over = results.filter((r) => r.count > r.limit);
    if (over.length > 0) {
      const waitMs = Math.max(...over.map((r) => r.resetAt - now));
      throw new TesseraError('rate_limited', 'too many sign-in attempts; try again later', { retryAfter: Math.max(1, Math.ceil(waitMs / 1000)) });
    }
  }

  async #hit(key: string, window: number, now: number, limit: number) {
    const { count, resetAt } = await this.#store.hit(key, window, now);
    return { count, resetAt, limit };
  }
}

/** Store keys never contain the username itself (they may show up in backend monitoring). */
function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url').slice(0, 22);
}

/**
 * The throttling key of a client address: an IPv4 address as is, an IPv6 address by its /64 prefix
 * (one subscriber usually holds a whole /64, so per-address limits on full IPv6 addresses are void).
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const groups = expandIpv6(address.split('%')[0]!);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}

function expandIpv6(address: string): string[] | null {
  const halves = address.toLowerCase().split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  return groups.every((g) => /^[0-9a-f]{1,4}$/.test(g)) ? groups.map((g) => g.padStart(4, '0')) : null;
}
