import type Docker from 'dockerode';
import type { InstanceStats } from '../driver.ts';

/** One CPU reading of a container: its own CPU time and the host's, both in nanoseconds. */
export interface CpuReading {
  total: number;
  system: number;
}

/** The reading a sample carries, to give to the next sample of the same container. */
export function cpuReadingOf(s: Docker.ContainerStats): CpuReading {
  return { total: s.cpu_stats.cpu_usage.total_usage, system: s.cpu_stats.system_cpu_usage ?? 0 };
}

/**
 * The numbers `docker stats` shows, from one sample of the engine's stats API. Memory leaves out
 * the inactive page cache, as the CLI does: files the instance read once are not memory it needs.
 * CPU is the share since `previous` (the driver's last sample of it) when given: a one-shot
 * sample (`one-shot=true`, answered at once instead of after the engine's ~1 s second reading)
 * carries no previous reading of its own. Without either, CPU reads 0.
 */
export function statsFromEngine(s: Docker.ContainerStats, previous?: CpuReading): InstanceStats {
  const mem = s.memory_stats;
  // cgroup v1 reports total_inactive_file, v2 inactive_file; a missing one reads as no cache.
  const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0;
  const usage = mem.usage ?? 0;
  const memoryBytes = inactive < usage ? usage - inactive : usage;

  const now = cpuReadingOf(s);
  const before = previous ?? {
    total: s.precpu_stats.cpu_usage?.total_usage ?? 0,
    system: s.precpu_stats.system_cpu_usage ?? 0,
  };
  const cpuDelta = now.total - before.total;
  const systemDelta = now.system - before.system;
  const cpus = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage?.length || 1;
  const cpuPercent =
    before.system > 0 && cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;

  return { memoryBytes, memoryLimitBytes: mem.limit ?? 0, cpuPercent };
}
