/**
 * Ed25519 signing keys, kept in the store so that every engine on it signs and verifies with the
 * same set (RFC 8037 for OKP JWKs; RFC 7638 thumbprints as `kid`s).
 *
 * Rotation: a new key is published in JWKS at once but signs only from `activatesAt`
 * (`now + publishLead`), so remote verifiers have it before they see a token signed with it; the key
 * it replaces stops signing then and leaves JWKS once every token it signed has expired.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { TesseraError } from './errors.js';
import type { SessionStore, StoredKey } from './store.js';

export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

interface LoadedKey {
  stored: StoredKey;
  publicKey: KeyObject;
  privateKey: KeyObject;
}

/** RFC 7638 JWK thumbprint of an Ed25519 public key: the required members in lexicographic order. */
export function jwkThumbprint(jwk: { crv?: string; kty?: string; x?: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return createHash('sha256').update(canonical).digest('base64url');
}

export function generateSigningKey(now: number, activatesAt = now): StoredKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const publicJwk = publicKey.export({ format: 'jwk' });
  const privateJwk = privateKey.export({ format: 'jwk' });
  return { kid: jwkThumbprint(publicJwk), publicJwk, privateJwk, createdAt: now, activatesAt, retiresAt: null, expiresAt: null };
}

export interface KeyRingOptions {
  /** How long a key signs before it is replaced. Default 30 days. */
  rotationInterval: number;
  /** How long a new key is published before it signs. Default 10 minutes. */
  publishLead: number;
  /** How long a retired key stays in JWKS: the access-token lifetime plus leeway. */
  verifyWindow: number;
}

export class KeyRing {
  readonly #store: SessionStore;
  readonly #options: KeyRingOptions;
  #keys: LoadedKey[] = [];

  constructor(store: SessionStore, options: KeyRingOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Reads the key set from the store, creating the first key, rotating when due, deleting expired ones. */
  async sync(now: number): Promise<void> {
    let stored = await this.#store.listKeys();
    if (stored.length === 0) {
      await this.#store.putKey(generateSigningKey(now));
      stored = await this.#store.listKeys();
    }
    for (const key of stored) {
      if (key.expiresAt !== null && now >= key.expiresAt) await this.#store.deleteKey(key.kid);
    }
    stored = stored.filter((k) => k.expiresAt === null || now < k.expiresAt);
    this.#keys = stored.map(load).sort(newestFirst);
    const newest = this.#keys[0];
    if (newest && newest.stored.activatesAt <= now && now - newest.stored.activatesAt >= this.#options.rotationInterval) {
      await this.rotate(now);
    }
  }

  /** Publishes a new key that signs from `now + publishLead` (or `now` with `immediately`), retiring the current one then. */
  async rotate(now: number, immediately = false): Promise<StoredKey> {
    const activatesAt = immediately ? now : now + this.#options.publishLead;
    const fresh = generateSigningKey(now, activatesAt);
    for (const key of this.#keys) {
      if (key.stored.retiresAt === null || key.stored.retiresAt > activatesAt) {
        await this.#store.putKey({ ...key.stored, retiresAt: activatesAt, expiresAt: activatesAt + this.#options.verifyWindow });
      }
    }
    await this.#store.putKey(fresh);
    this.#keys = (await this.#store.listKeys()).map(load).sort(newestFirst);
    return fresh;
  }

  /** The key that signs at `now`: the newest one already active and not retired. */
  signingKey(now: number): { kid: string; privateKey: KeyObject; stored: StoredKey } {
    const key = this.#keys.find((k) => k.stored.activatesAt <= now && (k.stored.retiresAt === null || now < k.stored.retiresAt));
    if (!key) throw new TesseraError('internal_error', 'no signing key is active');
    return { kid: key.stored.kid, privateKey: key.privateKey, stored: key.stored };
  }

  /** A key published at `now` (in JWKS), by kid. */
  publicKey(kid: string, now: number): KeyObject | undefined {
    const key = this.#keys.find((k) => k.stored.kid === kid);
    if (!key || (key.stored.expiresAt !== null && now >= key.stored.expiresAt)) return undefined;
    return key.publicKey;
  }

  /** The private key of a kid, for the engine's own derived secrets (see successor.ts). */
  privateKey(kid: string): KeyObject | undefined {
    return this.#keys.find((k) => k.stored.kid === kid)?.privateKey;
  }

  /** The JWKS document: every key published at `now`. */
  jwks(now: number): { keys: PublicJwk[] } {
    return {
      keys: this.#keys
        .filter((k) => k.stored.expiresAt === null || now < k.stored.expiresAt)
        .map((k) => ({ kty: 'OKP', crv: 'Ed25519', x: k.stored.publicJwk.x!, kid: k.stored.kid, alg: 'EdDSA', use: 'sig' })),
    };
  }

  /** The stored keys (with no private parts), for `tessera keys list` and the dashboard. */
  list(): Omit<StoredKey, 'privateJwk'>[] {
    return this.#keys.map(({ stored: { privateJwk: _private, ...rest } }) => rest);
  }
}

function load(stored: StoredKey): LoadedKey {
  return {
    stored,
    publicKey: createPublicKey({ key: stored.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }),
    privateKey: createPrivateKey({ key: stored.privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' }),
  };
}

function newestFirst(a: LoadedKey, b: LoadedKey): number {
  return b.stored.activatesAt - a.stored.activatesAt || (a.stored.kid < b.stored.kid ? -1 : 1);
}
