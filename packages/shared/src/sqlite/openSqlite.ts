import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';

export type SqliteDb<S extends Record<string, unknown>> = BetterSQLite3Database<S> & {
  $client: Database.Database;
};

/**
 * Opens (creating if needed) a service's SQLite database the one way all of them do: WAL (readers
 * never wait for the writer), NORMAL sync (durable at checkpoints, fast commits), a busy timeout
 * instead of instant "database is locked", foreign keys enforced, and its pending drizzle
 * migrations applied before anything else touches it.
 */
export function openSqlite<S extends Record<string, unknown>>(
  file: string,
  opts: { schema: S; migrationsFolder: string },
): SqliteDb<S> {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = drizzle(sqlite, { schema: opts.schema });
  migrate(db, { migrationsFolder: opts.migrationsFolder });
  return db as SqliteDb<S>;
}
