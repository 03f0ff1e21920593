import { fileURLToPath } from 'node:url';
import { openSqlite, type SqliteDb } from '@matrixos/shared/sqlite';
import * as schema from './schema.ts';

export type Db = SqliteDb<typeof schema>;

const MIGRATIONS = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** The platform database (instances, accounts, sessions), migrated to this version. */
export function openDb(file: string): Db {
  return openSqlite(file, { schema, migrationsFolder: MIGRATIONS });
}
