/**
 * The schema, as versioned migrations the store applies itself when it connects. Every node may start
 * at once: the migrations run in one transaction under a transaction-scoped advisory lock, so exactly
 * one node applies each version and the others wait, then find it applied. A migration, once
 * released, is never edited: a change is a new version.
 *
 * Times are `double precision` milliseconds since the epoch: exactly a JavaScript number, so every
 * value the engine hands the store comes back unchanged.
 */
import pg from 'pg';
import { lockKey } from './sql.js';

export interface Migration {
  version: number;
  name: string;
  /** SQL with `$schema` standing for the quoted schema name. */
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, revocations, events, keys, users, counters',
    sql: `
      CREATE TABLE $schema.sessions (
        sid                   text PRIMARY KEY,
        user_id               text NOT NULL,
        device_name           text NOT NULL,
        device_kind           text NOT NULL,
        ip                    text,
        user_agent            text,
        created_at            double precision NOT NULL,
        last_seen_at          double precision NOT NULL,
        idle_expires_at       double precision NOT NULL,
        absolute_expires_at   double precision NOT NULL,
        refresh_hash          text NOT NULL,
        refresh_previous_hash text,
        refresh_older_hashes  text[] NOT NULL,
        refresh_rotated_at    double precision NOT NULL,
        refresh_generation    integer NOT NULL,
        refresh_successor     text,
        revoked_at            double precision,
        revoke_reason         text,
        -- JSON text rather than json: JSON may escape characters (U+0000) that PostgreSQL text cannot
        -- hold, and text keeps the claims exactly as given. Cast to json to query them.
        claims                text,
        -- purgeAt(record, retention): the sweep may delete the row from then on.
        purge_at              double precision NOT NULL
      );
      -- The device limit, the user's list and "revoke all" read only the sessions not yet revoked.
      CREATE INDEX sessions_unrevoked_by_user ON $schema.sessions (user_id) WHERE revoked_at IS NULL;
      CREATE INDEX sessions_purge_at ON $schema.sessions (purge_at);

      CREATE TABLE $schema.revocations (
        id         bigserial PRIMARY KEY,
        sid        text NOT NULL,
        user_id    text NOT NULL,
        reason     text NOT NULL,
        at         double precision NOT NULL,
        keep_until double precision NOT NULL
      );
      -- Back-fill reads "since a time", oldest first.
      CREATE INDEX revocations_at ON $schema.revocations (at, id);
      CREATE INDEX revocations_keep_until ON $schema.revocations (keep_until);

      -- The bounded event log; ids are the cursors (appends are serialised, so ids increase in commit order).
      CREATE TABLE $schema.events (
        id      bigserial PRIMARY KEY,
        type    text NOT NULL,
        sid     text,
        user_id text,
        at      double precision NOT NULL,
        detail  json NOT NULL
      );

      CREATE TABLE $schema.signing_keys (
        kid          text PRIMARY KEY,
        public_jwk   json NOT NULL,
        private_jwk  json NOT NULL,
        created_at   double precision NOT NULL,
        activates_at double precision NOT NULL,
        retires_at   double precision,
        expires_at   double precision
      );

      CREATE TABLE $schema.users (
        id            text PRIMARY KEY,
        username      text NOT NULL UNIQUE,
        password_hash text NOT NULL,
        created_at    double precision NOT NULL,
        updated_at    double precision NOT NULL
      );

      CREATE TABLE $schema.counters (
        key      text PRIMARY KEY,
        count    integer NOT NULL,
        reset_at double precision NOT NULL
      );
      CREATE INDEX counters_reset_at ON $schema.counters (reset_at);
    `,
  },
  {
    version: 2,
    name: 'session data (the optional SessionDataStore ability)',
    sql: `
      CREATE TABLE $schema.session_data (
        namespace  text NOT NULL,
        key        text NOT NULL,
        value      text NOT NULL,
        expires_at double precision NOT NULL,
        PRIMARY KEY (namespace, key)
      );
      CREATE INDEX session_data_expires_at ON $schema.session_data (expires_at);
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * Creates the schema if needed and applies the pending migrations, on `client`, in one transaction
 * under an advisory lock keyed by the schema name. Returns the versions this call applied.
 */
export async function migrate(client: pg.Client, schema: string, quotedSchema: string): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [lockKey(`tessera/${schema}/migrations`), 0]);
    // CREATE SCHEMA needs the CREATE privilege on the database even when the schema exists: ask first,
    // so that a schema an administrator created for us is enough.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quotedSchema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quotedSchema}.migrations (
         version    integer PRIMARY KEY,
         name       text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set((await client.query<{ version: number }>(`SELECT version FROM ${quotedSchema}.migrations`)).rows.map((r) => r.version));
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql.replaceAll('$schema', quotedSchema));
      await client.query(`INSERT INTO ${quotedSchema}.migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
