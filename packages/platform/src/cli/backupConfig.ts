import path from 'node:path';
import { parseEnv } from '@matrixos/shared';
import { z } from 'zod';

const count = (fallback: number) => z.coerce.number().int().min(0).max(10_000).default(fallback);

/** The backup CLI's own settings (docs/configuration.md, "Backups"); the rest is the platform's. */
const schema = z.object({
  DATA_DIR: z.string().default('./data'),
  /** The proxy's DATA_DIR when it is not the platform's (`npm start` shares one). */
  PROXY_DATA_DIR: z.string().optional(),
  BACKUP_DIR: z.string().optional(),
  BACKUP_KEEP_DAILY: count(7),
  BACKUP_KEEP_WEEKLY: count(4),
});

export function loadBackupConfig(env: Record<string, string | undefined> = process.env) {
  const c = parseEnv(schema, env);
  const dataDir = path.resolve(c.DATA_DIR);
  return {
    proxyDataDir: path.resolve(c.PROXY_DATA_DIR ?? dataDir),
    backupDir: path.resolve(c.BACKUP_DIR ?? path.join(dataDir, '..', 'backups')),
    keep: { daily: c.BACKUP_KEEP_DAILY, weekly: c.BACKUP_KEEP_WEEKLY },
  };
}
