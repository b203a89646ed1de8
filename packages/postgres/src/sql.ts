import { createHash } from 'node:crypto';
import { TesseraError, storeUnavailable } from '@tessera/core';
import pg from 'pg';

/** A schema name we accept: a plain lower-case identifier, short enough to build channel names from. */
export const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,47}$/;

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A 32-bit advisory lock key for `name`. Locks are taken with two keys, `(lockKey(space), key)`, so
 * that Tessera's locks live apart from an application's single-key locks on the same database.
 */
export function lockKey(name: string): number {
  return createHash('sha256').update(name, 'utf8').digest().readInt32BE(0);
}

/** PostgreSQL text cannot hold U+0000: a string with one cannot be stored, so it names nothing stored. */
export function storable(value: unknown): value is string {
  return typeof value === 'string' && !value.includes('\u0000');
}

/**
 * Text as PostgreSQL can hold it: U+0000 and unpaired surrogates (which UTF-8 cannot encode, and
 * which make PostgreSQL's JSON functions fail) become U+FFFD, as `pg` itself does to a lone surrogate
 * in a plain parameter. Applied to what is written through JSON, so that odd text never fails a write.
 */
export function scrub(value: string): string {
  return value.replace(/\u0000|[\uD800-\uDFFF]/gu, '\uFFFD');
}

/** The SQLSTATE of an error the server sent (not of a socket error such as `EPIPE`). */
export function sqlState(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError && typeof error.code === 'string' ? error.code : undefined;
}

/**
 * Every failure that is not a business answer is `store_unavailable`, with the cause kept: refused
 * or dropped connections, timeouts (connect, statement, query read), a server shutting down or
 * starting up, too many connections, and anything unexpected. Business errors pass through.
 */
export function unavailable(error: unknown): TesseraError {
  if (error instanceof TesseraError) return error;
  return storeUnavailable(error, 'PostgreSQL');
}

/**
 * Whether the connection that raised `error` can be trusted with another statement. Server errors
 * that are about the statement (a constraint, a timeout, a lock) leave it usable; anything from the
 * socket or the client (refused, reset, "Connection terminated", "Query read timeout") does not, nor
 * do the server's shutdown codes (57P01-57P03, class 08).
 */
export function connectionIsSound(error: unknown): boolean {
  if (error instanceof TesseraError) return true;
  const state = sqlState(error);
  if (state === undefined) return false;
  return !state.startsWith('08') && !state.startsWith('57P') && state !== 'XX000';
}

export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === '23505';
}
