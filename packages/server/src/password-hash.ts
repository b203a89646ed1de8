/**
 * Password hashing with scrypt (node:crypto, no dependency) at the parameters of the OWASP Password
 * Storage Cheat Sheet: N = 2^17, r = 8, p = 1 (128 MiB, about 0.1–0.3 s per hash), a 16-byte salt
 * from the CSPRNG and a 32-byte key (OWASP ASVS 2.4.1/2.4.3: an approved, slow, salted KDF).
 *
 * The stored string is self-describing, in the PHC string format
 * (`$scrypt$ln=17,r=8,p=1$<salt>$<key>`, standard base64 without padding), so that parameters can be
 * raised later: `needsRehash` tells the login path to re-hash with the current parameters.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/** OWASP Password Storage Cheat Sheet (scrypt): N=2^17 (ln 17), r=8, p=1. */
export const OWASP_SCRYPT: Readonly<ScryptParams> = Object.freeze({ ln: 17, r: 8, p: 1 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds on parameters read back from a stored hash, so that a corrupt row cannot ask for gigabytes. */
const LIMITS = { ln: [10, 20], r: [1, 32], p: [1, 16] } as const;
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,64})\$([A-Za-z0-9+/]{32,128})$/;

/**
 * NIST SP 800-63B §5.1.1.2: passwords are Unicode-normalised (NFKC) before hashing, so that the
 * same password typed on two keyboards verifies.
 */
function passwordBytes(password: string): Buffer {
  return Buffer.from(password.normalize('NFKC'), 'utf8');
}

function derive(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  // scrypt needs 128·N·r bytes; node's default cap (32 MiB) is below OWASP's N=2^17, r=8 (128 MiB).
  const maxmem = 128 * N * params.r * 2;
  return new Promise((resolve, reject) => {
    scrypt(passwordBytes(password), salt, keyLength, { N, r: params.r, p: params.p, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

export async function hashPassword(password: string, params: ScryptParams = OWASP_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

function parseHash(encoded: string): ParsedHash | null {
  const match = PHC.exec(encoded);
  if (!match) return null;
  const params = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  for (const name of ['ln', 'r', 'p'] as const) {
    const [min, max] = LIMITS[name];
    if (params[name] < min || params[name] > max) return null;
  }
  return { params, salt: Buffer.from(match[4]!, 'base64'), key: Buffer.from(match[5]!, 'base64') };
}

/**
 * Whether `password` matches `encoded`. A malformed hash is `false`, never a throw. The comparison
 * is constant-time (ASVS 2.9: no early exit on secrets).
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.params, parsed.key.length);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/** A hash made with weaker parameters than `current` is re-hashed at the next successful login. */
export function needsRehash(encoded: string, current: ScryptParams = OWASP_SCRYPT): boolean {
  const parsed = parseHash(encoded);
  if (!parsed) return true;
  return parsed.params.ln < current.ln || parsed.params.r < current.r || parsed.params.p < current.p || parsed.key.length < KEY_BYTES;
}
