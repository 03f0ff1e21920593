import Database from 'better-sqlite3';

/**
 * A consistent copy of a live SQLite database (WAL or not) through SQLite's online backup API:
 * it reads pages under SQLite's own locking, so writers may go on meanwhile and the copy is one
 * committed state. A file copy of `x.db` without its `-wal` can lose or tear recent commits.
 */
export async function copySqlite(source: string, target: string): Promise<void> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(target);
  } finally {
    db.close();
  }
  // The copy is a standalone file: no -wal beside it, readable by any sqlite3.
  const copy = new Database(target);
  try {
    copy.pragma('journal_mode = DELETE');
    const ok = copy.pragma('integrity_check', { simple: true });
    if (ok !== 'ok') throw new Error(`the copy of ${source} fails its integrity check: ${ok}`);
  } finally {
    copy.close();
  }
}
