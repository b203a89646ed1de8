/**
 * The service's public keys, from its JWKS (`/.well-known/jwks.json`, RFC 7517), as a `KeySource` for
 * core's `Verifier`. Only Ed25519 keys (RFC 8037: `kty: OKP`, `crv: Ed25519`) are taken, as our
 * verifiers accept only EdDSA (RFC 8725 §3.1); anything else in the set is ignored.
 *
 * The verifier asks for a reload when a token names an unknown kid (a rotation it has not seen yet),
 * at most once every few seconds (core's `Verifier` rate-limits it), so a flood of tokens with made-up
 * kids costs the service at most one request per interval; reloads are also single-flight. The set is
 * refreshed on a timer too (`refreshInterval`, the five minutes the service's Cache-Control allows),
 * which drops retired keys. The service publishes a new key well before it signs with it, so the timer
 * usually has it before any token names it.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { TesseraError, type KeySource } from '@tessera/core';

export interface JwksKeysOptions {
  url: string;
  fetch: typeof fetch;
  /** Per request, ms. */
  timeout: number;
  refreshInterval: number;
  onError: (error: unknown) => void;
}

const ED25519_X_LENGTH = 43; // 32 bytes, base64url without padding

export class JwksKeys implements KeySource {
  readonly #o: JwksKeysOptions;
  #keys = new Map<string, KeyObject>();
  #inflight: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(options: JwksKeysOptions) {
    this.#o = options;
    this.#timer = setInterval(() => void this.#load().catch(options.onError), options.refreshInterval);
    this.#timer.unref();
  }

  get size(): number {
    return this.#keys.size;
  }

  key(kid: string): KeyObject | undefined {
    return this.#keys.get(kid);
  }

  /** Fetches the set again (joining a fetch in flight); rejects with `store_unavailable` when it cannot. */
  reload(): Promise<void> {
    return this.#load();
  }

  #load(): Promise<void> {
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetch(): Promise<void> {
    let body: unknown;
    try {
      const response = await this.#o.fetch(this.#o.url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.#o.timeout) });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
    } catch (error) {
      throw new TesseraError('store_unavailable', `the JWKS at ${this.#o.url} could not be fetched: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const keys = (body as { keys?: unknown })?.keys;
    if (!Array.isArray(keys)) throw new TesseraError('store_unavailable', `the JWKS at ${this.#o.url} has no "keys" array`);
    const loaded = new Map<string, KeyObject>();
    for (const jwk of keys as Record<string, unknown>[]) {
      if (typeof jwk !== 'object' || jwk === null) continue;
      const { kty, crv, x, kid, alg, use } = jwk;
      if (kty !== 'OKP' || crv !== 'Ed25519' || typeof kid !== 'string' || !kid) continue;
      if ((alg !== undefined && alg !== 'EdDSA') || (use !== undefined && use !== 'sig')) continue;
      if (typeof x !== 'string' || x.length !== ED25519_X_LENGTH || !/^[A-Za-z0-9_-]+$/.test(x)) continue;
      try {
        loaded.set(kid, createPublicKey({ key: { kty, crv, x }, format: 'jwk' }));
      } catch {
        continue;
      }
    }
    this.#keys = loaded;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
