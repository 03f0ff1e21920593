import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@matrixos/shared';
import type { RuntimeDriver } from '../runtime/driver.ts';
import type { Manifest } from './manifest.ts';
import { untarInto } from './tar.ts';
import { verifyBackup } from './verifyBackup.ts';

export interface RestoreTarget {
  dataDir: string;
  proxyDataDir: string;
  platformId: string;
  runtime: RuntimeDriver;
  dirOf: (volume: string) => Promise<string>;
  log: Logger;
}

/** The target already holds a platform: restoring would overwrite someone's live data. */
export class RestoreRefusedError extends Error {
  override name = 'RestoreRefusedError';
}

/**
 * Restores a backup onto a fresh machine (no database in DATA_DIR, none of its volumes on the
 * engine): checksums first, then the databases and keys, then each volume under the same key, so
 * the rows point at their data again. The platform, started afterwards, re-creates the containers
 * (its reconciler: a row whose container is gone). Run it with the platform stopped.
 */
export async function restoreBackup(backupDir: string, to: RestoreTarget): Promise<Manifest> {
  const manifest = await verifyBackup(backupDir);
  if (manifest.platformId !== to.platformId)
    throw new RestoreRefusedError(
      `the backup is of platform "${manifest.platformId}", this is "${to.platformId}": set PLATFORM_ID=${manifest.platformId}`,
    );
  if (manifest.runtime !== to.runtime.kind)
    throw new RestoreRefusedError(
      `the backup was made on the ${manifest.runtime} runtime, this is ${to.runtime.kind}`,
    );
  for (const f of ['platform.db', 'platform.db-wal'])
    if (existsSync(path.join(to.dataDir, f)))
      throw new RestoreRefusedError(
        `${path.join(to.dataDir, f)} exists: restore only onto an empty DATA_DIR`,
      );
  if (existsSync(path.join(to.proxyDataDir, 'proxy.db')))
    throw new RestoreRefusedError(
      `${path.join(to.proxyDataDir, 'proxy.db')} exists: restore only onto an empty DATA_DIR`,
    );
  for (const v of manifest.volumes)
    if (await to.runtime.hasVolume(v.key))
      throw new RestoreRefusedError(
        `volume ${v.key} exists on the engine already: restore only onto a machine without it`,
      );

  mkdirSync(to.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(to.proxyDataDir, { recursive: true, mode: 0o700 });
  const proxyFiles = new Set(['proxy.db', 'proxy-secret.key']);
  const place = (sub: string, name: string) => {
    const target = path.join(proxyFiles.has(name) ? to.proxyDataDir : to.dataDir, name);
    copyFileSync(path.join(backupDir, sub, name), target);
    return target;
  };
  // Volumes first, databases last: a restore that fails midway leaves no database that would
  // start a platform pointing at missing data, and can simply be run again.
  for (const v of manifest.volumes) {
    const dir = await to.dirOf(v.key);
    if (readdirSync(dir).length > 0)
      throw new RestoreRefusedError(
        `volume ${v.key} is not empty at ${dir}: restore only onto a machine without it`,
      );
    await untarInto(path.join(backupDir, v.file), dir);
    to.log.info({ volume: v.key, sizeBytes: v.sizeBytes }, 'volume restored');
  }
  for (const name of readdirSync(path.join(backupDir, 'keys'))) {
    chmodSync(place('keys', name), 0o600);
  }
  for (const name of readdirSync(path.join(backupDir, 'db'))) place('db', name);
  return manifest;
}
