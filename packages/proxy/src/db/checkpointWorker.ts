import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** The checkpointer's thread (see checkpointer.ts). */
const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new Database(file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), intervalMs);
