/**
 * The successor of a rotated refresh secret is kept in the session record, encrypted, so that the
 * previous secret presented within the grace window returns the *same* successor (concurrent tabs
 * converge on one token). AES-256-GCM with a fresh 96-bit IV (NIST SP 800-38D), the sid as
 * additional data so a blob cannot be moved to another session, under a key derived with HKDF-SHA256
 * from the signing key that was current (so it lives in the store's key set and rotates with it).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

const INFO = 'tessera/refresh-successor/v1';
const derived = new WeakMap<KeyObject, Buffer>();

function keyFor(privateKey: KeyObject): Buffer {
  let key = derived.get(privateKey);
  if (!key) {
    const d = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
    key = Buffer.from(hkdfSync('sha256', d, Buffer.alloc(0), INFO, 32));
    derived.set(privateKey, key);
  }
  return key;
}

export function sealSuccessor(secret: string, sid: string, kid: string, privateKey: KeyObject): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(privateKey), iv);
  cipher.setAAD(Buffer.from(sid));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${kid}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/** The secret, or `null` if the blob is malformed, tampered, or its key is gone. */
export function openSuccessor(blob: string, sid: string, keyOf: (kid: string) => KeyObject | undefined): string | null {
  const [kid, iv, body, extra] = blob.split('.');
  if (!kid || !iv || !body || extra !== undefined) return null;
  const privateKey = keyOf(kid);
  if (!privateKey) return null;
  try {
    const raw = Buffer.from(body, 'base64url');
    if (raw.length < 17) return null;
    const decipher = createDecipheriv('aes-256-gcm', keyFor(privateKey), Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(sid));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
