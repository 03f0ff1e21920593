import { Worker } from 'node:worker_threads';
import type { Logger } from '@matrixos/shared';
import type { Db } from './openDb.ts';

/**
 * Moves WAL checkpoints off the event loop. A checkpoint copies the log into the database file
 * and fsyncs it: done inline (SQLite's default, every 1000 pages) it stalls every request in
 * flight for that long, a few times a second under load. A worker thread with its own connection
 * runs passive checkpoints instead, which never block the proxy's reads or writes. Should the
 * worker die, the connection goes back to checkpointing by itself.
 */
export function checkpointInBackground(
  db: Db,
  file: string,
  log: Logger,
  intervalMs = 1000,
): { stop(): Promise<void> } {
  db.$client.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(new URL('./checkpointWorker.ts', import.meta.url), {
    workerData: { file, intervalMs },
  });
  worker.unref();
  worker.on('error', (err) => {
    log.error({ err }, 'checkpoint worker failed; checkpointing inline again');
    db.$client.pragma('wal_autocheckpoint = 1000');
  });
  return {
    async stop() {
      await worker.terminate();
    },
  };
}
