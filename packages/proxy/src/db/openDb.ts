import { fileURLToPath } from 'node:url';
import { openSqlite, type SqliteDb } from '@matrixos/shared/sqlite';
import * as schema from './schema.ts';

export type Db = SqliteDb<typeof schema>;

const MIGRATIONS = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** The proxy database (keys, requests, spend, quotas), migrated to this version. */
export function openDb(file: string): Db {
  return openSqlite(file, { schema, migrationsFolder: MIGRATIONS });
}
