import { lstat, opendir, statfs } from 'node:fs/promises';
import { join } from 'node:path';

export interface DiskUsage {
  /** What the home holds: apparent sizes of its files, symlinks not followed. */
  home: { bytes: number; files: number; measuredAt: string };
  /** The filesystem the home lives on. */
  filesystem: { totalBytes: number; freeBytes: number; availableBytes: number };
}

/**
 * Disk usage of the home, cached for `ttlMs`: walking a big home is slow, and callers asking at
 * the same moment share one walk.
 */
export function diskUsage(home: string, ttlMs = 30_000, now: () => number = Date.now) {
  let cached: { at: number; value: Promise<DiskUsage['home']> } | undefined;
  return async (): Promise<DiskUsage> => {
    if (!cached || now() - cached.at > ttlMs) {
      const value = walk(home).then((t) => ({ ...t, measuredAt: new Date().toISOString() }));
      cached = { at: now(), value };
      // A failed walk is not remembered.
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
    }
    const [homeUsage, fs] = await Promise.all([cached.value, statfs(home)]);
    return {
      home: homeUsage,
      filesystem: {
        totalBytes: fs.blocks * fs.bsize,
        freeBytes: fs.bfree * fs.bsize,
        availableBytes: fs.bavail * fs.bsize,
      },
    };
  };
}

async function walk(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  let handle: Awaited<ReturnType<typeof opendir>>;
  try {
    handle = await opendir(dir);
  } catch {
    return { bytes, files }; // vanished or unreadable: count what can be counted
  }
  for await (const entry of handle) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = await walk(path);
      bytes += sub.bytes;
      files += sub.files;
    } else {
      const info = await lstat(path).catch(() => null);
      if (!info) continue;
      bytes += info.size;
      files += 1;
    }
  }
  return { bytes, files };
}
