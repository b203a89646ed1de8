import { TesseraError } from '@tessera/core';
import type Database from 'better-sqlite3';

/**
 * The schema, as an append-only list of migrations: `MIGRATIONS[v]` takes a database at version `v`
 * (SQLite's `user_version`, 0 for a new file) to `v + 1`. A later release appends; it never edits an
 * entry that has shipped, because files written by that entry exist.
 *
 * Each session is kept whole as JSON in `record`; the columns beside it are copies of the fields that
 * SQL looks up, orders or sweeps by, written from the same record in the same statement.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE sessions (
    sid                 TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    idle_expires_at     INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    revoked_at          INTEGER,
    purge_at            INTEGER NOT NULL,
    record              TEXT NOT NULL
  );
  CREATE INDEX sessions_by_user ON sessions (user_id);
  CREATE INDEX sessions_by_purge_at ON sessions (purge_at);

  -- AUTOINCREMENT: ids are never reused, even after the newest rows are swept, so the feed's
  -- "id > cursor" poll cannot skip an entry.
  CREATE TABLE revocations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    sid        TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    at         INTEGER NOT NULL,
    keep_until INTEGER NOT NULL
  );
  CREATE INDEX revocations_by_at ON revocations (at);
  CREATE INDEX revocations_by_keep_until ON revocations (keep_until);

  -- AUTOINCREMENT: event ids are cursors handed to readers; a reused id would replay or hide events.
  CREATE TABLE events (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL
  );

  CREATE TABLE keys (
    kid TEXT PRIMARY KEY,
    key TEXT NOT NULL
  );

  CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  );

  CREATE TABLE counters (
    key      TEXT PRIMARY KEY,
    count    INTEGER NOT NULL,
    reset_at INTEGER NOT NULL
  );
  CREATE INDEX counters_by_reset_at ON counters (reset_at);
  `,
  // The session-data ability (core's session-data.ts): application session data by namespace and key.
  `
  CREATE TABLE data (
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
  ) WITHOUT ROWID;
  CREATE INDEX data_by_expires_at ON data (expires_at);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the file to `SCHEMA_VERSION`. The check and the migrations run in one BEGIN IMMEDIATE
 * transaction, so that processes opening a new file at the same moment create the schema once.
 * A file from a newer release is refused rather than written by code that does not know its schema.
 */
export function migrate(db: Database.Database): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (version() === SCHEMA_VERSION) return;
  db.transaction(() => {
    const from = version();
    if (from > SCHEMA_VERSION) {
      throw new TesseraError(
        'invalid_config',
        `${db.name} has schema version ${from}, newer than this release of @tessera/sqlite knows (${SCHEMA_VERSION})`,
      );
    }
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
