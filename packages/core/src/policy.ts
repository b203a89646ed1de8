import { parseDuration } from './duration.js';
import { TesseraError } from './errors.js';

export type OnLimit = 'evict-oldest' | 'reject';
export type FeedFallback = 'check-store' | 'reject';

/** Session policy. All durations in milliseconds. */
export interface Policy {
  /** Lifetime of an access token. Default 10 minutes. */
  accessTtl: number;
  /** A session not refreshed for this long expires; every refresh slides it. Default 7 days. */
  idleTimeout: number;
  /** No session lives longer than this from its creation, however often refreshed. Default 30 days. */
  absoluteTimeout: number;
  /** Clock skew tolerated when verifying access tokens (only there). Default 30 seconds. */
  leeway: number;
  /** Live sessions a user may have at once; 0 means no limit. Default 10. */
  maxSessionsPerUser: number;
  /** What a login over the limit does: revoke the least recently seen sessions, or fail. */
  onLimit: OnLimit;
  /** How long the previous refresh token still returns the same successor. Default 10 seconds. */
  refreshGrace: number;
  /** Superseded refresh secrets remembered per session, to recognise their reuse. Default 8. */
  refreshHistory: number;
  /** A verifier that has not heard from the revocation feed for this long stops trusting it. Default 5 s. */
  feedStaleAfter: number;
  /** What a verifier does while its feed is stale. Default `check-store`. */
  feedFallback: FeedFallback;
  /** Failed refreshes allowed per session per minute before `rate_limited`. Default 30. */
  maxFailedRefreshesPerMinute: number;
}

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  accessTtl: 10 * 60_000,
  idleTimeout: 7 * 86_400_000,
  absoluteTimeout: 30 * 86_400_000,
  leeway: 30_000,
  maxSessionsPerUser: 10,
  onLimit: 'evict-oldest',
  refreshGrace: 10_000,
  refreshHistory: 8,
  feedStaleAfter: 5_000,
  feedFallback: 'check-store',
  maxFailedRefreshesPerMinute: 30,
});

export type PolicyInput = { [K in keyof Policy]?: Policy[K] extends number ? number | string : Policy[K] };

const DURATIONS = ['accessTtl', 'idleTimeout', 'absoluteTimeout', 'leeway', 'refreshGrace', 'feedStaleAfter'] as const;
const COUNTS = ['maxSessionsPerUser', 'refreshHistory', 'maxFailedRefreshesPerMinute'] as const;

/** Fills in defaults and validates; throws `invalid_config` naming the first bad setting. */
export function resolvePolicy(input: PolicyInput = {}): Policy {
  const known = new Set<string>(Object.keys(DEFAULT_POLICY));
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new TesseraError('invalid_config', `unknown policy setting ${JSON.stringify(key)}`);
  }
  const policy: Policy = { ...DEFAULT_POLICY };
  for (const key of DURATIONS) {
    const value = input[key];
    if (value !== undefined) policy[key] = parseDuration(value, key);
  }
  for (const key of COUNTS) {
    const value = input[key];
    if (value === undefined) continue;
    const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new TesseraError('invalid_config', `${key} must be a non-negative whole number, got ${JSON.stringify(value)}`);
    }
    policy[key] = n;
  }
  if (input.onLimit !== undefined) {
    if (input.onLimit !== 'evict-oldest' && input.onLimit !== 'reject') {
      throw new TesseraError('invalid_config', `onLimit must be "evict-oldest" or "reject", got ${JSON.stringify(input.onLimit)}`);
    }
    policy.onLimit = input.onLimit;
  }
  if (input.feedFallback !== undefined) {
    if (input.feedFallback !== 'check-store' && input.feedFallback !== 'reject') {
      throw new TesseraError('invalid_config', `feedFallback must be "check-store" or "reject", got ${JSON.stringify(input.feedFallback)}`);
    }
    policy.feedFallback = input.feedFallback;
  }
  if (policy.accessTtl < 1000) throw new TesseraError('invalid_config', 'accessTtl must be at least 1s');
  if (policy.idleTimeout < 1000) throw new TesseraError('invalid_config', 'idleTimeout must be at least 1s');
  if (policy.absoluteTimeout < policy.idleTimeout) {
    throw new TesseraError('invalid_config', 'absoluteTimeout must not be shorter than idleTimeout');
  }
  if (policy.refreshHistory < 1) throw new TesseraError('invalid_config', 'refreshHistory must be at least 1');
  return policy;
}

/**
 * How long a revocation (and a revoked or expired session record) is kept: at least as long as an
 * access token issued before it can still be accepted (TTL + leeway), plus a minute of margin.
 */
export function revocationRetention(policy: Policy): number {
  return policy.accessTtl + policy.leeway + 60_000;
}
