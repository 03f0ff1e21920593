import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEMPLATE_DIR } from '../../test/harness.ts';
import { seedHome } from './seed.ts';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'matrixos-seed-'));
});
afterEach(() => rm(home, { recursive: true, force: true }));

describe('seedHome', () => {
  it('fills a fresh home from the shipped template', async () => {
    const { copied } = await seedHome(home, TEMPLATE_DIR);
    expect(copied).toEqual(
      expect.arrayContaining([
        'system/profile.md',
        'system/ai-profile.md',
        'system/config.json',
        'system/memory.md',
        'apps/README.md',
      ]),
    );
    expect(JSON.parse(await readFile(join(home, 'system/config.json'), 'utf8'))).toEqual({
      channels: {},
      ai: { model: 'claude-sonnet-5-5', maxTokens: 16000, maxTurns: 12 },
    });
    for (const dir of ['apps', 'jobs', 'data']) {
      await expect(readFile(join(home, dir, 'README.md'), 'utf8')).resolves.toMatch(/#/);
    }
  });

  it('is idempotent and never overwrites what the user wrote', async () => {
    await mkdir(join(home, 'system'), { recursive: true });
    await writeFile(join(home, 'system/profile.md'), '# Alice\n');
    const first = await seedHome(home, TEMPLATE_DIR);
    expect(first.copied).not.toContain('system/profile.md');
    expect(await readFile(join(home, 'system/profile.md'), 'utf8')).toBe('# Alice\n');
    expect((await seedHome(home, TEMPLATE_DIR)).copied).toEqual([]);
  });

  it('leaves deleted files deleted, but brings files that a later version adds', async () => {
    const template = await mkdtemp(join(tmpdir(), 'matrixos-template-'));
    try {
      await mkdir(join(template, 'apps'), { recursive: true });
      await writeFile(join(template, 'apps/one.html'), 'v1');
      await seedHome(home, template);
      await unlink(join(home, 'apps/one.html'));

      await writeFile(join(template, 'apps/two.html'), 'new in v2');
      expect((await seedHome(home, template)).copied).toEqual(['apps/two.html']);
      await expect(readFile(join(home, 'apps/one.html'))).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(template, { recursive: true, force: true });
    }
  });

  it('finishes the job after an interrupted first boot', async () => {
    await mkdir(join(home, 'system'), { recursive: true });
    await writeFile(join(home, 'system/profile.md'), 'half-done boot copied this one');
    // No record yet: as if the process died before writing it.
    const { copied } = await seedHome(home, TEMPLATE_DIR);
    expect(copied).toContain('system/ai-profile.md');
    expect(await readFile(join(home, 'system/profile.md'), 'utf8')).toBe('half-done boot copied this one');
  });
});
