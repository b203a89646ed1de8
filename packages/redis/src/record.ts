/**
 * A session record as stored in Redis: one string, the fields the Lua scripts read or change first,
 * separated by U+001F (unit separator), then the fields only the application reads, as JSON:
 *
 *   1␟sid␟userId␟createdAt␟lastSeenAt␟idleExpiresAt␟absoluteExpiresAt␟revokedAt␟revokeReason␟
 *   rotatedAt␟generation␟hash␟previousHash␟olderHashes (comma-separated)␟successor␟{device,ip,userAgent,claims}
 *
 * Why not JSON throughout: the scripts would have to re-encode the record with cjson, which turns
 * an empty array into `{}`, writes numbers with 14 significant digits and loses the distinction of
 * `null`. Here the scripts only split and join strings and never re-encode what they do not own;
 * numbers travel as decimal strings. U+001F cannot occur in any field: sids, hashes and successors
 * are base64url (and dots), reasons are fixed words, user ids are checked to have no control
 * characters, and JSON.stringify escapes every control character in the tail.
 */
import { REVOKE_REASONS, TesseraError, type RevokeReason, type SessionRecord } from '@tessera/core';

export const SEP = '\x1f';
const VERSION = '1';
const FIELDS = 16;
const CONTROL = /[\u0000-\u001f\u007f]/;
const TOKEN = /^[A-Za-z0-9_.-]*$/;

function time(value: number, name: string): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TesseraError('internal_error', `session ${name} must be a finite number`);
  return String(value);
}

function token(value: string, name: string): string {
  if (typeof value !== 'string' || !TOKEN.test(value)) throw new TesseraError('internal_error', `session ${name} must be base64url`);
  return value;
}

/** Checks a user id can be a key part and a record field (the engine allows no control characters). */
export function checkUserId(userId: string): string {
  if (typeof userId !== 'string' || CONTROL.test(userId)) throw new TesseraError('internal_error', 'a user id must have no control characters');
  return userId;
}

export function encodeRecord(s: SessionRecord): string {
  const r = s.refresh;
  const fields = [
    VERSION,
    token(s.sid, 'sid'),
    checkUserId(s.userId),
    time(s.createdAt, 'createdAt'),
    time(s.lastSeenAt, 'lastSeenAt'),
    time(s.idleExpiresAt, 'idleExpiresAt'),
    time(s.absoluteExpiresAt, 'absoluteExpiresAt'),
    s.revokedAt === null ? '' : time(s.revokedAt, 'revokedAt'),
    s.revokeReason ?? '',
    time(r.rotatedAt, 'rotatedAt'),
    time(r.generation, 'generation'),
    token(r.hash, 'hash'),
    r.previousHash === null ? '' : token(r.previousHash, 'previousHash'),
    r.olderHashes.map((h) => token(h, 'olderHashes')).join(','),
    r.successor === null ? '' : token(r.successor, 'successor'),
    JSON.stringify({ device: s.device, ip: s.ip, userAgent: s.userAgent, claims: s.claims }),
  ];
  if (s.revokeReason !== null && !REVOKE_REASONS.includes(s.revokeReason)) throw new TesseraError('internal_error', 'unknown revoke reason');
  return fields.join(SEP);
}

export function decodeRecord(raw: string): SessionRecord {
  const f = raw.split(SEP);
  if (f.length !== FIELDS || f[0] !== VERSION) throw new TesseraError('internal_error', 'an unreadable session record is stored in Redis');
  const tail = JSON.parse(f[15]!) as Pick<SessionRecord, 'device' | 'ip' | 'userAgent' | 'claims'>;
  return {
    sid: f[1]!,
    userId: f[2]!,
    device: tail.device,
    ip: tail.ip,
    userAgent: tail.userAgent,
    createdAt: Number(f[3]),
    lastSeenAt: Number(f[4]),
    idleExpiresAt: Number(f[5]),
    absoluteExpiresAt: Number(f[6]),
    refresh: {
      hash: f[11]!,
      previousHash: f[12] || null,
      olderHashes: f[13] ? f[13].split(',') : [],
      rotatedAt: Number(f[9]),
      generation: Number(f[10]),
      successor: f[14] || null,
    },
    revokedAt: f[7] ? Number(f[7]) : null,
    revokeReason: (f[8] || null) as RevokeReason | null,
    claims: tail.claims,
  };
}
