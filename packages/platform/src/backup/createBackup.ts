import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Logger } from '@matrixos/shared';
import Database from 'better-sqlite3';
import type { RuntimeDriver } from '../runtime/driver.ts';
import { VERSION } from '../version.ts';
import { copySqlite } from './copySqlite.ts';
import { BACKUP_FORMAT, type Manifest } from './manifest.ts';
import { sha256File } from './sha256File.ts';
import { tarDirectory } from './tar.ts';

export interface BackupSources {
  /** The platform's DATA_DIR: platform.db, admin-token, platform.key. */
  dataDir: string;
  /** The proxy's DATA_DIR (proxy.db, proxy-secret.key); the same directory under `npm start`. */
  proxyDataDir: string;
  platformId: string;
  runtime: RuntimeDriver;
  /** Where a volume's files are on this host (`createVolumeDirs`). */
  dirOf: (volume: string) => Promise<string>;
  log: Logger;
  clock?: () => number;
}

/** Secret files, by where they are; missing ones (set by environment instead) are skipped. */
const KEY_FILES = [
  { from: 'data', name: 'admin-token' },
  { from: 'data', name: 'platform.key' },
  { from: 'proxy', name: 'proxy-secret.key' },
] as const;

/**
 * One backup of the whole platform into `{outDir}/matrixos-{UTC time}/`: both databases copied
 * online, the key files, and every data volume as a tar archive, with `manifest.json` and
 * `SHA256SUMS` (checkable by `sha256sum -c`). A running instance is frozen (`pause`) only while its
 * own volume is read, so its SQLite files are as a crash would leave them, which SQLite recovers
 * from; it is resumed even if reading fails. Written under `.partial` and renamed when complete,
 * so a crash never leaves something that looks like a backup.
 */
export async function createBackup(
  src: BackupSources,
  outDir: string,
): Promise<{ dir: string; manifest: Manifest }> {
  const now = new Date((src.clock ?? Date.now)());
  const name = `matrixos-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
  const final = path.join(outDir, name);
  if (existsSync(final)) throw new Error(`${final} exists already`);
  const dir = `${final}.partial`;
  rmSync(dir, { recursive: true, force: true });
  for (const sub of ['db', 'keys', 'volumes'])
    mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
  try {
    const platformDb = path.join(src.dataDir, 'platform.db');
    if (!existsSync(platformDb)) throw new Error(`no platform database at ${platformDb}`);
    await copySqlite(platformDb, path.join(dir, 'db', 'platform.db'));
    const proxyDb = path.join(src.proxyDataDir, 'proxy.db');
    if (existsSync(proxyDb)) await copySqlite(proxyDb, path.join(dir, 'db', 'proxy.db'));
    else src.log.warn({ proxyDb }, 'no proxy database: usage and budgets are not in this backup');

    for (const k of KEY_FILES) {
      const file = path.join(k.from === 'data' ? src.dataDir : src.proxyDataDir, k.name);
      if (existsSync(file)) {
        const target = path.join(dir, 'keys', k.name);
        writeFileSync(target, '', { mode: 0o600 });
        copyFileSync(file, target);
      }
    }

    const copy = new Database(path.join(dir, 'db', 'platform.db'), { readonly: true });
    const rows = copy.prepare('SELECT handle, volume, state FROM instances ORDER BY handle').all() as {
      handle: string;
      volume: string | null;
      state: string;
    }[];
    const migrations = (copy.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number })
      .n;
    copy.close();

    const running = new Map((await src.runtime.list()).map((i) => [i.handle, i]));
    const volumes: Manifest['volumes'] = [];
    for (const key of (await src.runtime.listVolumes()).sort()) {
      const file = path.join('volumes', `${key}.tar`);
      const owner = rows.find((r) => (r.volume ?? r.handle) === key);
      const rt = owner ? running.get(owner.handle) : undefined;
      const freeze = rt?.state === 'running';
      const home = await src.dirOf(key);
      if (freeze && rt) await src.runtime.pause(rt.id);
      const t0 = Date.now();
      try {
        await tarDirectory(home, path.join(dir, file));
      } finally {
        if (freeze && rt) await src.runtime.resume(rt.id);
      }
      const sizeBytes = statSync(path.join(dir, file)).size;
      src.log.info({ volume: key, sizeBytes, frozenMs: freeze ? Date.now() - t0 : 0 }, 'volume backed up');
      volumes.push({ key, file, sizeBytes, frozen: freeze || rt?.state === 'paused' });
    }

    const files: Manifest['files'] = [];
    for (const sub of ['db', 'keys', 'volumes']) {
      for (const f of readdirSync(path.join(dir, sub)).sort()) {
        const rel = `${sub}/${f}`;
        const abs = path.join(dir, rel);
        files.push({ path: rel, sizeBytes: statSync(abs).size, sha256: await sha256File(abs) });
      }
    }
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      createdAt: now.toISOString(),
      platformVersion: VERSION,
      platformId: src.platformId,
      runtime: src.runtime.kind,
      migrations,
      users: rows.map((r) => ({
        handle: r.handle,
        volume: r.volume,
        state: r.state,
        sizeBytes: volumes.find((v) => v.key === (r.volume ?? r.handle))?.sizeBytes ?? 0,
      })),
      volumes,
      files,
    };
    writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    const sums = [
      ...files,
      { path: 'manifest.json', sha256: await sha256File(path.join(dir, 'manifest.json')) },
    ]
      .map((f) => `${f.sha256}  ${f.path}`)
      .join('\n');
    writeFileSync(path.join(dir, 'SHA256SUMS'), `${sums}\n`, { mode: 0o600 });
    renameSync(dir, final);
    return { dir: final, manifest };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
