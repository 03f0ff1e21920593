import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCgroup, statsFromCgroup } from './cgroupStats.ts';

describe('readCgroup', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const files = (dir: string, entries: Record<string, string>) => {
    mkdirSync(path.join(root, dir), { recursive: true });
    for (const [name, text] of Object.entries(entries)) writeFileSync(path.join(root, dir, name), text);
  };

  it('reads cgroup v1 (cgroupfs) and v2 (systemd) layouts, page cache left out', async () => {
    root = mkdtempSync(path.join(tmpdir(), 'matrixos-cgroup-'));
    files('memory/docker/c1', {
      'memory.usage_in_bytes': '50000000\n',
      'memory.limit_in_bytes': '268435456\n',
      'memory.stat': 'cache 1\ntotal_inactive_file 10000000\n',
    });
    files('cpuacct/docker/c1', { 'cpuacct.usage': '3000000000\n' });
    files('system.slice/docker-c2.scope', {
      'memory.current': '40000000\n',
      'memory.max': 'max\n',
      'memory.stat': 'anon 5\ninactive_file 20000000\n',
      'cpu.stat': 'usage_usec 2000000\nuser_usec 1\n',
    });
    expect(await readCgroup('c1', root)).toMatchObject({
      memoryBytes: 40_000_000,
      memoryLimitBytes: 268_435_456,
      cpu: { total: 3_000_000_000 },
    });
    expect(await readCgroup('c2', root)).toMatchObject({
      memoryBytes: 20_000_000,
      memoryLimitBytes: 0,
      cpu: { total: 2_000_000_000 },
    });
    expect(await readCgroup('missing', root)).toBeNull();
  });

  it('gives CPU as a share per core since the previous sample, 0 without one', () => {
    const s = { memoryBytes: 1, memoryLimitBytes: 2, cpu: { total: 3e9, system: 120e9 } };
    expect(statsFromCgroup(s, undefined, 2).cpuPercent).toBe(0);
    // 0.5 s of CPU over 2 s of host time on 2 cores: half of one core.
    expect(statsFromCgroup(s, { total: 2.5e9, system: 118e9 }, 2).cpuPercent).toBe(50);
  });
});
