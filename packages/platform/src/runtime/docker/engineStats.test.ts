import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { statsFromEngine } from './engineStats.ts';

const sample = (memStats: Record<string, number>) =>
  ({
    memory_stats: { usage: 50_000_000, limit: 268_435_456, stats: memStats },
    cpu_stats: {
      cpu_usage: { total_usage: 3_000_000_000 },
      system_cpu_usage: 120_000_000_000,
      online_cpus: 2,
    },
    precpu_stats: { cpu_usage: { total_usage: 2_500_000_000 }, system_cpu_usage: 118_000_000_000 },
  }) as unknown as Docker.ContainerStats;

describe('statsFromEngine', () => {
  it('computes what `docker stats` shows: memory without inactive page cache, CPU per core', () => {
    // 0.5 s of CPU over 2 s of system time on 2 cores: half of one core.
    expect(statsFromEngine(sample({ total_inactive_file: 10_000_000 }))).toEqual({
      memoryBytes: 40_000_000,
      memoryLimitBytes: 268_435_456,
      cpuPercent: 50,
    });
    expect(statsFromEngine(sample({ inactive_file: 20_000_000 })).memoryBytes).toBe(30_000_000); // cgroup v2
  });
});

describe('statsFromEngine with the previous reading (one-shot samples)', () => {
  it("measures CPU since the driver's last sample, and 0 when there is none", () => {
    const oneShot = {
      ...sample({}),
      precpu_stats: { cpu_usage: { total_usage: 0 } },
    } as unknown as Docker.ContainerStats;
    expect(statsFromEngine(oneShot).cpuPercent).toBe(0);
    // 1 s of CPU over 4 s of system time on 2 cores since the last sample: half of one core.
    expect(statsFromEngine(oneShot, { total: 2_000_000_000, system: 116_000_000_000 }).cpuPercent).toBe(50);
  });
});
