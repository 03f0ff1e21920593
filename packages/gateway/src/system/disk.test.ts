import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diskUsage } from './disk.ts';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'matrixos-disk-'));
});
afterEach(() => rm(home, { recursive: true, force: true }));

describe('diskUsage', () => {
  it('adds up the files of the home without following symlinks out of it', async () => {
    await mkdir(join(home, 'a/b'), { recursive: true });
    await writeFile(join(home, 'a/one.bin'), Buffer.alloc(1000));
    await writeFile(join(home, 'a/b/two.bin'), Buffer.alloc(2000));
    await symlink('/usr', join(home, 'usr-link'));
    const usage = await diskUsage(home)();
    expect(usage.home.files).toBe(3);
    expect(usage.home.bytes).toBe(3000 + '/usr'.length);
  });

  it('reuses a recent walk, and walks again once it is stale', async () => {
    let now = 0;
    const measure = diskUsage(home, 1_000, () => now);
    await writeFile(join(home, 'x'), Buffer.alloc(10));
    expect((await measure()).home.bytes).toBe(10);
    await writeFile(join(home, 'y'), Buffer.alloc(10));
    expect((await measure()).home.bytes).toBe(10);
    now = 2_000;
    expect((await measure()).home.bytes).toBe(20);
  });
});
