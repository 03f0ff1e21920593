import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@matrixos/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../db/openDb.ts';
import { createFakeDriver } from '../runtime/fake/fakeDriver.ts';
import { createBackup } from './createBackup.ts';
import { verifyBackup } from './verifyBackup.ts';

/** A backup made for real (SQLite copy, tar of a volume), then damaged in each way restore must catch. */
describe('verifyBackup', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'matrixos-verify-'));
  let good: string;
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  beforeAll(async () => {
    const dataDir = path.join(root, 'data');
    openDb(path.join(dataDir, 'platform.db')).$client.close();
    writeFileSync(path.join(dataDir, 'platform.key'), 'k'.repeat(44));
    const runtime = createFakeDriver();
    await runtime.ensureVolume('alice_1');
    const home = path.join(root, 'homes', 'alice_1');
    mkdirSync(path.join(home, 'notes'), { recursive: true });
    writeFileSync(path.join(home, 'notes', 'a.txt'), 'hello');
    const { dir } = await createBackup(
      {
        dataDir,
        proxyDataDir: dataDir,
        platformId: 'p',
        runtime,
        dirOf: async () => home,
        log: createLogger('test', 'silent'),
        clock: () => Date.UTC(2026, 11, 1, 3, 15),
      },
      path.join(root, 'backups'),
    );
    good = dir;
  });

  it('accepts the backup as written, listing its files', async () => {
    expect(path.basename(good)).toBe('matrixos-20261201T031500Z');
    const m = await verifyBackup(good);
    expect(m.files.map((f) => f.path)).toEqual([
      'db/platform.db',
      'keys/platform.key',
      'volumes/alice_1.tar',
    ]);
  });

  const damage: [string, (dir: string) => void, string][] = [
    [
      'a changed volume',
      (d) => appendFileSync(path.join(d, 'volumes/alice_1.tar'), 'x'),
      'volumes/alice_1.tar does not match its checksum',
    ],
    [
      'a changed database',
      (d) => appendFileSync(path.join(d, 'db/platform.db'), 'x'),
      'db/platform.db does not match its checksum',
    ],
    ['a missing key', (d) => rmSync(path.join(d, 'keys/platform.key')), 'keys/platform.key is missing'],
    [
      'an edited manifest',
      (d) => appendFileSync(path.join(d, 'manifest.json'), ' '),
      'manifest.json does not match its checksum',
    ],
    ['no SHA256SUMS', (d) => rmSync(path.join(d, 'SHA256SUMS')), 'has no SHA256SUMS'],
    [
      'a path out of the backup',
      (d) => appendFileSync(path.join(d, 'SHA256SUMS'), `${'0'.repeat(64)}  ../../etc/passwd\n`),
      'SHA256SUMS has a malformed line',
    ],
  ];
  it.each(damage)('refuses %s, naming the file', async (_, harm, message) => {
    const copy = path.join(root, `copy-${Math.random().toString(16).slice(2)}`);
    cpSync(good, copy, { recursive: true });
    harm(copy);
    await expect(verifyBackup(copy)).rejects.toThrow(message);
  });
});
