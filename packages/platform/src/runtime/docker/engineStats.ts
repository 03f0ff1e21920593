import type Docker from 'dockerode';
import type { InstanceStats } from '../driver.ts';

/**
 * The numbers `docker stats` shows, from one sample of the engine's stats API (which carries the
 * previous CPU reading too). Memory leaves out the inactive page cache, as the CLI does: files
 * the instance read once are not memory it needs.
 */
export function statsFromEngine(s: Docker.ContainerStats): InstanceStats {
  const mem = s.memory_stats;
  // cgroup v1 reports total_inactive_file, v2 inactive_file; a missing one reads as no cache.
  const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0;
  const usage = mem.usage ?? 0;
  const memoryBytes = inactive < usage ? usage - inactive : usage;

  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - (s.precpu_stats.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage?.length || 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;

  return { memoryBytes, memoryLimitBytes: mem.limit ?? 0, cpuPercent };
}
