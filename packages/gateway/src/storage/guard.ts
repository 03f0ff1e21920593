import { statfs as nodeStatfs } from 'node:fs/promises';
import { HttpError } from '@matrixos/shared';
import { formatBytes } from '../tools/tool.ts';

export interface StorageGuard {
  /**
   * Throws a 507 when writing `incomingBytes` more would eat into the reserve: the home's
   * filesystem (or its quota) keeps `reserveBytes` free, so the instance's own state (sessions,
   * conversations, the token) can still be written and the owner can still clean up.
   */
  ensureRoom(incomingBytes?: number): Promise<void>;
}

type Statfs = (path: string) => Promise<{ bavail: number; bsize: number; blocks?: number }>;

/** The reserve when none is configured: this much, or a tenth of a smaller filesystem. */
const DEFAULT_RESERVE_BYTES = 64 * 1024 * 1024;

/** Checks the free space of the home's filesystem (statfs, so a per-volume quota counts too). */
export function createStorageGuard({
  home,
  reserveBytes,
  statfs = nodeStatfs,
}: {
  home: string;
  /** `auto`: DEFAULT_RESERVE_BYTES, capped at a tenth of the filesystem (a 48 MiB quota keeps 4.8 MiB). */
  reserveBytes: number | 'auto';
  statfs?: Statfs;
}): StorageGuard {
  return {
    async ensureRoom(incomingBytes = 0) {
      if (reserveBytes !== 'auto' && reserveBytes <= 0) return;
      const fs = await statfs(home);
      const available = fs.bavail * fs.bsize;
      const reserve =
        reserveBytes === 'auto'
          ? Math.min(
              DEFAULT_RESERVE_BYTES,
              Math.floor(((fs.blocks ?? Number.POSITIVE_INFINITY) * fs.bsize) / 10),
            )
          : reserveBytes;
      if (available - incomingBytes >= reserve) return;
      throw new HttpError(
        507,
        'insufficient_storage',
        `the home is almost full (${formatBytes(Math.max(0, available))} free, ${formatBytes(reserve)} kept in reserve): delete some files first`,
        { availableBytes: Math.max(0, available), reserveBytes: reserve },
      );
    },
  };
}
