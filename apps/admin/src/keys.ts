/**
 * The signing keys as the dashboard shows them: which one signs now, which one is published and
 * waits for its turn, which ones only verify, by the service's own clock (`now` of GET /v1/admin/keys).
 */
import type { KeySet, SigningKey } from './admin-api';

export type KeyState = 'signing' | 'published' | 'retired' | 'expired';

/**
 * The key that signs at `now`, by the engine's rule (KeyRing.signingKey in @tessera/core, and
 * `tessera keys list`): the newest key already active and not retired.
 */
export function signingKid(keys: readonly SigningKey[], now: number): string | null {
  const newestFirst = [...keys].sort((a, b) => b.activatesAt - a.activatesAt || (a.kid < b.kid ? -1 : 1));
  return newestFirst.find((k) => k.activatesAt <= now && (k.retiresAt === null || now < k.retiresAt))?.kid ?? null;
}

export function keyState(key: SigningKey, signing: string | null, now: number): KeyState {
  if (key.kid === signing) return 'signing';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired';
  if ((key.retiresAt === null || now < key.retiresAt) && key.activatesAt > now) return 'published';
  return 'retired';
}

const LABELS: Record<KeyState, { label: string; tone: 'ok' | 'info' | 'neutral' | 'warn' }> = {
  signing: { label: 'signs now', tone: 'ok' },
  published: { label: 'published, signs later', tone: 'info' },
  retired: { label: 'retired, verifies only', tone: 'neutral' },
  expired: { label: 'left JWKS', tone: 'warn' },
};

export interface ShownKey extends SigningKey {
  state: KeyState;
  label: string;
  tone: 'ok' | 'info' | 'neutral' | 'warn';
}

/** Every key, newest first, with its state at the service's `now`. */
export function describeKeys(set: KeySet): ShownKey[] {
  const signing = signingKid(set.keys, set.now);
  return [...set.keys]
    .sort((a, b) => b.activatesAt - a.activatesAt || (a.kid < b.kid ? -1 : 1))
    .map((key) => {
      const state = keyState(key, signing, set.now);
      return { ...key, state, ...LABELS[state] };
    });
}
