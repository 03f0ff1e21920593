import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveToken } from './token.ts';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'matrixos-token-'));
});
afterEach(() => rm(home, { recursive: true, force: true }));

describe('resolveToken', () => {
  it('uses MATRIX_AUTH_TOKEN and writes nothing', async () => {
    expect(await resolveToken({ home, authToken: 'mxi_from-the-environment' })).toEqual({
      token: 'mxi_from-the-environment',
      source: 'env',
    });
    await expect(stat(join(home, '.matrixos', 'auth-token'))).rejects.toThrow(/ENOENT/);
  });

  it('generates a token once, stores it owner-only, and reuses it on later boots', async () => {
    const first = await resolveToken({ home, authToken: undefined });
    expect(first.source).toBe('generated');
    expect(first.token).toMatch(/^mxi_[A-Za-z0-9_-]{43}$/);
    const file = join(home, '.matrixos', 'auth-token');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, '.matrixos'))).mode & 0o777).toBe(0o700);
    expect((await readFile(file, 'utf8')).trim()).toBe(first.token);

    expect(await resolveToken({ home, authToken: undefined })).toEqual({
      token: first.token,
      source: 'stored',
    });
  });

  it('ends with one token when boots race', async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => resolveToken({ home, authToken: undefined })));
    expect(new Set(results.map((r) => r.token)).size).toBe(1);
    expect(results.filter((r) => r.source === 'generated')).toHaveLength(1);
  });

  it('replaces an empty token file rather than accepting an empty secret', async () => {
    await resolveToken({ home, authToken: undefined });
    await writeFile(join(home, '.matrixos', 'auth-token'), '\n');
    const again = await resolveToken({ home, authToken: undefined });
    expect(again.source).toBe('generated');
    expect(again.token).toMatch(/^mxi_/);
    expect((await readFile(join(home, '.matrixos', 'auth-token'), 'utf8')).trim()).toBe(again.token);
  });
});
