/**
 * Test databases on a PostgreSQL server: the local one (127.0.0.1:5432, user postgres, trust auth),
 * or the admin URL in `TESSERA_TEST_PG`. Each test file gets a database of its own and drops it after.
 * When no server answers, tests skip with a loud message, except under `CI=true`, where they fail.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const ADMIN_URL = process.env.TESSERA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh database, or `null` (after a loud warning) when there is no server and we are not in CI. */
export async function createTestDatabase(label: string): Promise<TestDatabase | null> {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
  } catch (error) {
    await admin.end().catch(() => undefined);
    return unreachable(ADMIN_URL, error);
  }
  const name = `tessera_test_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => dropDatabase(ADMIN_URL, name) };
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Fails under CI; elsewhere warns loudly and returns `null` so the caller skips. */
export function unreachable(what: string, error: unknown): null {
  const reason = error instanceof Error ? error.message : String(error);
  const message = `PostgreSQL is not reachable at ${redact(what)} (${reason})`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true, so the PostgreSQL tests fail instead of skipping`);
  const bar = '!'.repeat(100);
  console.warn(`\n${bar}\n!!! SKIPPING PostgreSQL tests: ${message}.\n!!! Start a server, or set TESSERA_TEST_PG to an admin URL.\n${bar}\n`);
  return null;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}
