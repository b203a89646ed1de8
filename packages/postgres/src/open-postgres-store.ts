import { TesseraError } from '@tessera/core';
import { PostgresStore, type PostgresStoreOptions } from './postgres-store.js';

/**
 * Opens a store from a `postgres://` or `postgresql://` URL, as the service's `TESSERA_STORE` gives
 * it. The URL's `schema` parameter picks the schema (default `tessera`) and is not passed on to the
 * server; every other parameter (`sslmode`, `application_name`, ...) is `pg`'s.
 *
 *     const store = await openPostgresStore('postgres://tessera@db.internal/app?schema=sessions');
 */
export async function openPostgresStore(
  url: string,
  options: Omit<PostgresStoreOptions, 'connectionString'> = {},
): Promise<PostgresStore> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TesseraError('invalid_config', 'the PostgreSQL store URL is not a valid URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new TesseraError('invalid_config', `a PostgreSQL store URL starts with postgres:// or postgresql://, not ${parsed.protocol}//`);
  }
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  return PostgresStore.connect({ ...options, ...(schema !== null ? { schema } : {}), connectionString: parsed.toString() });
}
