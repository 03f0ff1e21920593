import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import type { RuntimeDriver } from '../runtime/driver.ts';

export interface VolumeDirsOptions {
  runtime: RuntimeDriver;
  platformId: string;
  dataDir: string;
  /** INSTANCE_DISK: volumes made with a quota live in `{dir}/{key}.img`, mounted at `{dir}/mnt/{key}`. */
  disk: { sizeBytes: number; dir: string };
  docker?: Docker;
}

/**
 * Where a data volume's files are on this host, made (and mounted) if missing: the disk's data
 * directory for a volume with a quota, the engine's mount point for a plain Docker volume, the
 * home directory for the process runtime. Backups read there and restores write there, on the
 * host: no helper container, so the engine needs no image with a tar in it.
 */
export function createVolumeDirs(o: VolumeDirsOptions) {
  const docker = o.docker ?? new Docker();
  return async function dirOf(key: string): Promise<string> {
    if (o.runtime.kind === 'process') {
      const dir = path.join(o.dataDir, 'homes', key);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    }
    // Mounts the disk (after a reboot) or creates volume and disk (a restore onto a fresh host).
    await o.runtime.ensureVolume(key);
    if (existsSync(path.join(o.disk.dir, `${key}.img`))) return path.join(o.disk.dir, 'mnt', key, 'data');
    const info = await docker.getVolume(`${o.platformId}-home-${key}`).inspect();
    return info.Mountpoint;
  };
}
