import { randomBytes } from 'node:crypto';
import { Engine } from '@tessera/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';
import { PostgresStore } from './postgres-store.js';
import { createTestDatabase } from './testing/database.js';

const db = await createTestDatabase('migrations');

describe.skipIf(!db)('migrations', () => {
  afterAll(() => db?.drop());

  async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: db!.url });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  it('five nodes connecting at once to a fresh database all succeed, and each migration is applied once', async () => {
    const stores = await Promise.all(Array.from({ length: 5 }, () => PostgresStore.connect({ connectionString: db!.url })));
    try {
      const applied = await sql<{ version: number }>('SELECT version FROM tessera.migrations ORDER BY version');
      expect(applied.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(applied.at(-1)!.version).toBe(LATEST_VERSION);
      // They all work on the one schema.
      const engine = await Engine.create({ store: stores[0]!, issuer: 'https://tessera.test', audience: 'migrations' });
      const { session } = await engine.createSession({ userId: 'mig' });
      for (const store of stores) expect((await store.getSession(session.sid))?.userId).toBe('mig');
      await engine.close({ closeStore: false });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
    // A node starting later finds nothing to do.
    const later = await PostgresStore.connect({ connectionString: db!.url });
    await later.close();
    expect(await sql('SELECT version FROM tessera.migrations')).toHaveLength(MIGRATIONS.length);
  });

  it('indexes what the store looks up and what expires', async () => {
    const store = await PostgresStore.connect({ connectionString: db!.url, schema: 'indexed' });
    await store.close();
    const indexes = (await sql<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE schemaname = 'indexed'")).map((r) => r.indexdef);
    const has = (pattern: RegExp) => expect(indexes.some((d) => pattern.test(d)), `${pattern} in\n${indexes.join('\n')}`).toBe(true);
    has(/sessions USING btree \(sid\)/);
    has(/sessions USING btree \(user_id\) WHERE \(revoked_at IS NULL\)/);
    has(/sessions USING btree \(purge_at\)/);
    has(/revocations USING btree \(at, id\)/);
    has(/revocations USING btree \(keep_until\)/);
    has(/counters USING btree \(reset_at\)/);
    has(/users USING btree \(username\)/);
  });

  it('uses a schema an administrator created, without needing CREATE on the database', async () => {
    const role = `tessera_app_${process.pid}`;
    const password = randomBytes(12).toString('hex');
    await sql(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await sql(`CREATE SCHEMA app_owned AUTHORIZATION ${role}`);
    await sql(`REVOKE CREATE ON DATABASE ${db!.name} FROM PUBLIC`);
    try {
      const url = new URL(db!.url);
      url.username = role;
      url.password = password;
      const store = await PostgresStore.connect({ connectionString: url.toString(), schema: 'app_owned' });
      await store.ping();
      await store.close();
      expect(await sql("SELECT version FROM app_owned.migrations")).toHaveLength(MIGRATIONS.length);
    } finally {
      await sql('DROP SCHEMA app_owned CASCADE');
      await sql(`DROP OWNED BY ${role}`);
      await sql(`DROP ROLE ${role}`);
    }
  });
});
