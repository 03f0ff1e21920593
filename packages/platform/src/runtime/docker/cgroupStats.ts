import { readFile } from 'node:fs/promises';
import type { CpuReading } from './engineStats.ts';

/** One container's figures read from its cgroup: what the engine's stats API would say. */
export interface CgroupSample {
  memoryBytes: number;
  memoryLimitBytes: number;
  cpu: CpuReading;
}

const NO_LIMIT = 2 ** 62;

/**
 * A container's memory and CPU straight from its cgroup files, when the platform runs on the
 * engine's host (cgroup v1 with the cgroupfs driver, or v2 with systemd): a few small file reads
 * instead of an engine stats call, which took ~40 ms each at 100 awake containers on a loaded
 * 2-core host (the admin overview asked for all of them). Null when the files are not there (a
 * remote engine, another layout): the caller asks the engine instead. Memory leaves out the
 * inactive page cache, as `docker stats` does; CPU is cumulative (the caller takes differences).
 */
export async function readCgroup(id: string, root = '/sys/fs/cgroup'): Promise<CgroupSample | null> {
  const system = await hostCpuNs();
  const v1 = `${root}/memory/docker/${id}`;
  try {
    const [usage, limit, stat, cpu] = await Promise.all([
      readFile(`${v1}/memory.usage_in_bytes`, 'utf8'),
      readFile(`${v1}/memory.limit_in_bytes`, 'utf8'),
      readFile(`${v1}/memory.stat`, 'utf8'),
      readFile(`${root}/cpuacct/docker/${id}/cpuacct.usage`, 'utf8'),
    ]);
    return sample(Number(usage), Number(limit), field(stat, 'total_inactive_file'), Number(cpu), system);
  } catch {}
  const v2 = `${root}/system.slice/docker-${id}.scope`;
  try {
    const [usage, max, stat, cpu] = await Promise.all([
      readFile(`${v2}/memory.current`, 'utf8'),
      readFile(`${v2}/memory.max`, 'utf8'),
      readFile(`${v2}/memory.stat`, 'utf8'),
      readFile(`${v2}/cpu.stat`, 'utf8'),
    ]);
    const limit = max.trim() === 'max' ? NO_LIMIT : Number(max);
    return sample(
      Number(usage),
      limit,
      field(stat, 'inactive_file'),
      field(cpu, 'usage_usec') * 1000,
      system,
    );
  } catch {
    return null;
  }
}

function sample(usage: number, limit: number, inactive: number, cpuNs: number, system: number): CgroupSample {
  return {
    memoryBytes: inactive < usage ? usage - inactive : usage,
    memoryLimitBytes: limit >= NO_LIMIT ? 0 : limit,
    cpu: { total: cpuNs, system },
  };
}

function field(text: string, name: string): number {
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

/**
 * The host's CPU time in nanoseconds summed over its cores, counted as the engine counts
 * `system_cpu_usage` (from /proc/stat), so the share per core comes out as `docker stats` shows.
 */
async function hostCpuNs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  const ticks = line
    .split(/\s+/)
    .slice(1, 8)
    .reduce((sum, n) => sum + Number(n), 0);
  return (ticks / 100) * 1e9; // USER_HZ is 100 on Linux
}

/** A cgroup sample as the driver reports it: CPU as a share per core since `previous`. */
export function statsFromCgroup(
  s: CgroupSample,
  previous: CpuReading | undefined,
  cpus: number,
): { memoryBytes: number; memoryLimitBytes: number; cpuPercent: number } {
  const cpuDelta = previous ? s.cpu.total - previous.total : 0;
  const systemDelta = previous ? s.cpu.system - previous.system : 0;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  return { memoryBytes: s.memoryBytes, memoryLimitBytes: s.memoryLimitBytes, cpuPercent };
}
