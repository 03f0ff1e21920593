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

type Statfs = (path: string) => Promise<{ bavail: number; bsize: number }>;

/** Checks the free space of the home's filesystem (statfs, so a per-volume quota counts too). */
export function createStorageGuard({
  home,
  reserveBytes,
  statfs = nodeStatfs,
}: {
  home: string;
  reserveBytes: number;
  statfs?: Statfs;
}): StorageGuard {
  return {
    async ensureRoom(incomingBytes = 0) {
      if (reserveBytes <= 0) return;
      const fs = await statfs(home);
      const available = fs.bavail * fs.bsize;
      if (available - incomingBytes >= reserveBytes) return;
      throw new HttpError(
        507,
        'insufficient_storage',
        `the home is almost full (${formatBytes(Math.max(0, available))} free, ${formatBytes(reserveBytes)} kept in reserve): delete some files first`,
        { availableBytes: Math.max(0, available), reserveBytes },
      );
    },
  };
}
