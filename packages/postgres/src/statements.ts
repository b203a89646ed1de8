/**
 * Every statement the store runs, built once per schema. Named, so each pooled connection parses
 * and plans it once. The decisions (who is evicted, what a refresh does) are made in JavaScript by
 * core's pure functions between a locking read and the writes; the SQL only reads and writes, and
 * every write of a session finds its row by primary key.
 */
import type pg from 'pg';
import { SESSION_COLUMNS } from './rows.js';

export type Statement = pg.QueryConfig;

/** `$from, $from+1, ...`, `count` of them. */
function params(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
}

export function statements(s: string) {
  const texts = {
    lock: 'SELECT pg_advisory_xact_lock($1, $2)',
    session: `SELECT * FROM ${s}.sessions WHERE sid = $1`,
    sessionForUpdate: `SELECT * FROM ${s}.sessions WHERE sid = $1 FOR UPDATE`,
    unrevoked: `SELECT * FROM ${s}.sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY last_seen_at DESC, created_at DESC, sid`,
    // Locked in sid order, so two transactions that lock several of a user's rows agree on the order.
    unrevokedForUpdate: `SELECT * FROM ${s}.sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY sid FOR UPDATE`,
    // The writes of a session transaction, one statement per row, pipelined with COMMIT. Each finds
    // its row by primary key; the revocation entry carries its NOTIFY, which PostgreSQL queues with
    // the transaction and delivers when (and only if) it commits.
    insertSession: `INSERT INTO ${s}.sessions (${SESSION_COLUMNS.join(', ')}) VALUES (${params(1, SESSION_COLUMNS.length)})`,
    updateSession: `UPDATE ${s}.sessions SET (${SESSION_COLUMNS.slice(1).join(', ')}) = (${params(2, SESSION_COLUMNS.length - 1)}) WHERE sid = $1`,
    recordRevocation: `
      WITH recorded AS (
        INSERT INTO ${s}.revocations (sid, user_id, reason, at, keep_until) VALUES ($1, $2, $3, $4, $5)
      )
      SELECT pg_notify($6, $7)`,
    revocationsSince: `SELECT sid, user_id, reason, at FROM ${s}.revocations WHERE at >= $1 ORDER BY at, id LIMIT $2`,
    appendEvents: `
      INSERT INTO ${s}.events (type, sid, user_id, at, detail)
      SELECT e.type, e.sid, e.user_id, e.at, e.detail
      FROM ROWS FROM (json_to_recordset($1::json) AS (type text, sid text, user_id text, at double precision, detail json))
           WITH ORDINALITY AS e(type, sid, user_id, at, detail, n)
      ORDER BY e.n`,
    // Appends are serialised, so ids have no gaps but those of rolled-back appends: this keeps at most $1.
    trimEvents: `DELETE FROM ${s}.events WHERE id <= (SELECT max(id) FROM ${s}.events) - $1`,
    readEvents: `SELECT e.id::text AS id, e.type, e.sid, e.user_id, e.at, e.detail FROM ${s}.events AS e WHERE e.id > $1 ORDER BY e.id LIMIT $2`,
    listKeys: `SELECT * FROM ${s}.signing_keys`,
    putKey: `
      INSERT INTO ${s}.signing_keys (kid, public_jwk, private_jwk, created_at, activates_at, retires_at, expires_at)
      VALUES ($1, $2::json, $3::json, $4, $5, $6, $7)
      ON CONFLICT (kid) DO UPDATE SET public_jwk = EXCLUDED.public_jwk, private_jwk = EXCLUDED.private_jwk,
        created_at = EXCLUDED.created_at, activates_at = EXCLUDED.activates_at,
        retires_at = EXCLUDED.retires_at, expires_at = EXCLUDED.expires_at`,
    deleteKey: `DELETE FROM ${s}.signing_keys WHERE kid = $1`,
    createUser: `INSERT INTO ${s}.users (id, username, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`,
    userByUsername: `SELECT * FROM ${s}.users WHERE username = $1`,
    user: `SELECT * FROM ${s}.users WHERE id = $1`,
    setPasswordHash: `UPDATE ${s}.users SET password_hash = $2, updated_at = $3 WHERE id = $1`,
    deleteUser: `DELETE FROM ${s}.users WHERE id = $1`,
    listUsers: `SELECT * FROM ${s}.users ORDER BY username COLLATE "C"`,
    hit: `
      INSERT INTO ${s}.counters AS c (key, count, reset_at) VALUES ($1, 1, $2::double precision + $3::double precision)
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN $2::double precision >= c.reset_at THEN 1 ELSE c.count + 1 END,
        reset_at = CASE WHEN $2::double precision >= c.reset_at THEN $2::double precision + $3::double precision ELSE c.reset_at END
      RETURNING count, reset_at`,
    // The sweep deletes in small batches, each its own short transaction, skipping rows in use.
    sweepSessions: `
      DELETE FROM ${s}.sessions WHERE sid IN (
        SELECT sid FROM ${s}.sessions WHERE purge_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    sweepRevocations: `
      DELETE FROM ${s}.revocations WHERE id IN (
        SELECT id FROM ${s}.revocations WHERE keep_until <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    sweepCounters: `
      DELETE FROM ${s}.counters WHERE key IN (
        SELECT key FROM ${s}.counters WHERE reset_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    sweepData: `
      DELETE FROM ${s}.session_data WHERE (namespace, key) IN (
        SELECT namespace, key FROM ${s}.session_data WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    // Session data: every read filters on liveness, so an expired row that the sweep has not reached
    // yet is never seen; writes are single statements (atomic on their own).
    getData: `SELECT key, value, expires_at FROM ${s}.session_data WHERE namespace = $1 AND key = $2 AND expires_at > $3`,
    setData: `
      INSERT INTO ${s}.session_data (namespace, key, value, expires_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
    touchData: `UPDATE ${s}.session_data SET expires_at = $3 WHERE namespace = $1 AND key = $2 AND expires_at > $4`,
    expireData: `DELETE FROM ${s}.session_data WHERE namespace = $1 AND key = $2 AND expires_at > $3`,
    deleteData: `DELETE FROM ${s}.session_data WHERE namespace = $1 AND key = $2`,
    listData: `SELECT key, value, expires_at FROM ${s}.session_data WHERE namespace = $1 AND expires_at > $2`,
    countData: `SELECT count(*)::integer AS count FROM ${s}.session_data WHERE namespace = $1 AND expires_at > $2`,
    clearData: `DELETE FROM ${s}.session_data WHERE namespace = $1`,
    ping: 'SELECT 1',
  };
  type Name = keyof typeof texts;
  return (name: Name, values: unknown[] = []): Statement => ({ name: `tessera_${name}`, text: texts[name], values });
}
