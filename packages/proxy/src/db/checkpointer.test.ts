import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@matrixos/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointInBackground } from './checkpointer.ts';
import { openDb } from './openDb.ts';

describe('checkpointInBackground', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies the WAL into the database file from its own thread', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'checkpoint-'));
    const file = path.join(dir, 'proxy.db');
    const db = openDb(file);
    const checkpointer = checkpointInBackground(db, file, createLogger('test'), 50);
    try {
      const before = statSync(file).size;
      const insert = db.$client.prepare('insert into quotas (handle, updated_at) values (?, 0)');
      db.$client.transaction(() => {
        for (let i = 0; i < 5000; i++) insert.run(`user-${i}`);
      })();
      // Nothing checkpoints on this connection any more: the file grows only when the worker runs.
      expect(statSync(file).size).toBe(before);
      const deadline = Date.now() + 5000;
      while (statSync(file).size === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(statSync(file).size).toBeGreaterThan(before);
    } finally {
      await checkpointer.stop();
      db.$client.close();
    }
  });
});
