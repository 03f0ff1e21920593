/**
 * `matrixos backup` and `matrixos restore` for 10 users on Docker (disk quota on, as in
 * production): each user's home gets 1 MiB of random data (incompressible) plus 50 small files;
 * half the instances are awake (frozen while read), half asleep. Measures the CLI's wall time for
 * a backup and for a restore onto the emptied machine, the backup's size, and the longest freeze.
 *
 *   npm run bench -- backup               (BENCH_USERS, default 10)
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TEST_INSTANCE_IMAGE } from '@matrixos/shared/testing';
import { startTestPlatform } from '../../packages/platform/test/harness.ts';

const run = promisify(execFile);
const USERS = Number(process.env.BENCH_USERS ?? 10);
const CLI = fileURLToPath(new URL('../../packages/platform/src/cli/matrixos.ts', import.meta.url));

let t = await startTestPlatform({ runtime: 'docker', env: { PROXY_ADMIN_URL: 'none' } });
const { dataDir, platformId, adminToken } = t;
const backups = `${dataDir}-backups`;
const env = {
  ...process.env,
  DATA_DIR: dataDir,
  PLATFORM_ID: platformId,
  RUNTIME: 'docker',
  INSTANCE_IMAGE: TEST_INSTANCE_IMAGE,
  LOG_LEVEL: 'info',
};
const handles = Array.from({ length: USERS }, (_, i) => `user${i}`);
try {
  for (const h of handles) {
    await t.provision(h);
    const put = (p: string, body: Buffer | string) =>
      t.instance(h, {
        method: 'PUT',
        path: `/files/${p}`,
        body,
        headers: { 'content-type': 'application/octet-stream' },
      });
    await put('big.bin', randomBytes(1 << 20));
    for (let i = 0; i < 50; i++) await put(`notes/n${i}.txt`, `note ${i} of ${h}\n`.repeat(20));
  }
  for (const h of handles.slice(0, USERS / 2)) await t.admin('POST', `/containers/${h}/stop`);

  let t0 = performance.now();
  const b = await run(process.execPath, [CLI, 'backup', '--out', backups], { env });
  const backupS = (performance.now() - t0) / 1000;
  const dir = JSON.parse(b.stdout.trim().split('\n').at(-1)!).dir as string;
  const freezes = b.stdout
    .split('\n')
    .filter((l) => l.includes('"volume backed up"'))
    .map((l) => JSON.parse(l).frozenMs as number);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    files: { sizeBytes: number }[];
  };
  const bytes = manifest.files.reduce((n, f) => n + f.sizeBytes, 0);
  const du = (await run('du', ['-sb', dir])).stdout.split('\t')[0];

  const volumes = await t.runtime.listVolumes();
  await t.stop();
  for (const rt of await t.runtime.list()) await t.runtime.remove(rt.id);
  for (const v of volumes) await t.runtime.removeVolume(v);
  rmSync(dataDir, { recursive: true, force: true });

  t0 = performance.now();
  await run(process.execPath, [CLI, 'restore', dir], { env });
  const restoreS = (performance.now() - t0) / 1000;
  t = await startTestPlatform({
    runtime: 'docker',
    dataDir,
    platformId,
    adminToken,
    env: { PROXY_ADMIN_URL: 'none' },
  });
  await t.reconciled;
  const token = (await t.admin('POST', `/containers/${handles[0]}/token`)).json<{ token: string }>().token;
  const check = await t.instance(handles[0]!, {
    path: '/files/notes/n7.txt',
    headers: { authorization: `Bearer ${token}` },
  });
  if (!check.text.startsWith(`note 7 of ${handles[0]}`))
    throw new Error(`restored file wrong: ${check.status}`);

  console.log(`| users | backup (s) | restore (s) | backup size (MiB) | longest freeze (ms) |
| ----- | ---------- | ----------- | ----------------- | ------------------- |
| ${USERS} | ${backupS.toFixed(1)} | ${restoreS.toFixed(1)} | ${(bytes / 2 ** 20).toFixed(1)} (on disk ${(Number(du) / 2 ** 20).toFixed(1)}) | ${Math.max(...freezes)} |`);
} finally {
  for (const h of handles) t.track(h);
  await t.destroy();
  rmSync(backups, { recursive: true, force: true });
}
