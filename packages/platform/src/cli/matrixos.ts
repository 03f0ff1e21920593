import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, parseDuration } from '@matrixos/shared';
import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import { ADMIN_INVITE_TTL_MS, createAdminInvites, INVITE_PARAM } from '../accounts/adminInvites.ts';
import { createBackup } from '../backup/createBackup.ts';
import { RestoreRefusedError, restoreBackup } from '../backup/restoreBackup.ts';
import { backupTime, selectExpired } from '../backup/selectExpired.ts';
import { ImportRefusedError, stageImport } from '../backup/stageImport.ts';
import { BackupInvalidError, verifyBackup } from '../backup/verifyBackup.ts';
import { createVolumeDirs } from '../backup/volumeDirs.ts';
import { loadConfig, type PlatformConfig } from '../config.ts';
import { openDb } from '../db/openDb.ts';
import { users } from '../db/schema.ts';
import { createRuntime } from '../runtime/index.ts';
import { loadBackupConfig } from './backupConfig.ts';
import { MoveRefusedError, moveUser } from './moveUser.ts';

const USAGE = `usage: matrixos <command>
  backup [--out DIR] [--no-prune]   back up databases, keys and volumes into DIR/matrixos-{time}/
                                    (default BACKUP_DIR), then apply retention there
  verify DIR                        check a backup's checksums and manifest
  restore DIR                       restore a backup onto this machine (platform stopped, empty DATA_DIR)
  import HANDLE ARCHIVE             replace HANDLE's home with a user's export (GET /me/export);
                                    the platform must be running (it stops the instance for the swap)
  admin-invite [--ttl 24h] [--if-none]
                                    print a one-time sign-up link whose account becomes an admin;
                                    --if-none: only when there is no admin and no unused invite
  rollout [status]                  move every instance to INSTANCE_IMAGE, one at a time, each gated on
                                    its health check (POST /admin/rollout), and follow it to the end;
                                    \`status\`: the newest rollout only. Exits 1 when it failed.
  move-user HANDLE NODE             RUNTIME=swarm: stop HANDLE, copy its volume to NODE, pin it
                                    there, start it (the platform must be running)
Settings come from the environment, as the platform's (DATA_DIR, PLATFORM_ID, INSTANCE_DISK, ...).`;

/** `matrixos` (scripts/matrixos, `npm run matrixos --`): operator commands beside the running platform. */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'no-prune': { type: 'boolean' },
      ttl: { type: 'string' },
      'if-none': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, target] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const log = createLogger('matrixos', process.env.LOG_LEVEL ?? 'info');
  if (command === 'verify') {
    if (!target) return usage();
    const m = await verifyBackup(path.resolve(target));
    console.log(
      JSON.stringify({ ok: true, createdAt: m.createdAt, users: m.users.length, files: m.files.length }),
    );
    return 0;
  }
  if (command === 'admin-invite') return adminInvite(values.ttl, values['if-none'] === true);
  if (command === 'rollout') return rollout(loadConfig(), target);
  if (command === 'move-user') {
    const node = positionals[2];
    if (!target || !node) return usage();
    console.log(JSON.stringify(await moveUser(loadConfig(), target, node, log)));
    return 0;
  }
  if (command !== 'backup' && command !== 'restore' && command !== 'import') return usage();
  const config = loadConfig();
  const bc = loadBackupConfig();
  const runtime = await createRuntime({ ...config, log: log.child({ module: 'runtime' }) });
  // Docker: makes sure the network is there and every disk is mounted (read or written below).
  // The process runtime's init would rewrite the running platform's process table: not done.
  if (runtime.kind === 'docker') await runtime.init();
  const dirOf = createVolumeDirs({
    runtime,
    platformId: config.platformId,
    dataDir: config.dataDir,
    disk: config.disk,
  });
  const where = {
    dataDir: config.dataDir,
    proxyDataDir: bc.proxyDataDir,
    platformId: config.platformId,
    runtime,
    dirOf,
    log,
  };

  if (command === 'backup') {
    const out = path.resolve(values.out ?? bc.backupDir);
    const t0 = performance.now();
    const { dir, manifest } = await createBackup(where, out);
    const bytes = manifest.files.reduce((n, f) => n + f.sizeBytes, 0);
    const seconds = Math.round(performance.now() - t0) / 1000;
    log.info(
      { dir, users: manifest.users.length, volumes: manifest.volumes.length, bytes, seconds },
      'backup done',
    );
    if (!values['no-prune']) {
      const backups = readdirSync(out).flatMap((name) => {
        const at = backupTime(name);
        return at ? [{ name, at }] : [];
      });
      for (const name of selectExpired(backups, bc.keep)) {
        rmSync(path.join(out, name), { recursive: true, force: true });
        log.info({ removed: name, keep: bc.keep }, 'old backup removed');
      }
    }
    console.log(JSON.stringify({ dir, users: manifest.users.length, bytes, seconds }));
    return 0;
  }
  if (command === 'import') {
    const archive = positionals[2];
    if (!target || !archive) return usage();
    return importArchive(config, dirOf, target, path.resolve(archive));
  }
  if (!target) return usage();
  const t0 = performance.now();
  const m = await restoreBackup(path.resolve(target), where);
  const seconds = Math.round(performance.now() - t0) / 1000;
  log.info(
    { from: target, users: m.users.length, volumes: m.volumes.length, seconds },
    'restore done: start the platform',
  );
  console.log(JSON.stringify({ restored: target, users: m.users.length, seconds }));
  return 0;
}

/**
 * `matrixos admin-invite`: the first admin of a server (or another one) signs up through this link.
 * Written straight into the platform's database, so it works before anyone can sign in.
 */
function adminInvite(ttl: string | undefined, ifNone: boolean): number {
  const ttlMs = ttl === undefined ? ADMIN_INVITE_TTL_MS : parseDuration(ttl);
  if (ttlMs === null || ttlMs <= 0 || ttlMs > 30 * 24 * 60 * 60 * 1000)
    throw new ConfigError(`--ttl: expected a duration between 1s and 30d such as 24h, got "${ttl}"`);
  const config = loadConfig();
  const db = openDb(path.join(config.dataDir, 'platform.db'));
  const invites = createAdminInvites({ db });
  // The deploy script asks on every run: a second run must not mint a second link.
  const admins = db.select().from(users).where(eq(users.role, 'admin')).all().length;
  const pending = invites.outstanding();
  if (ifNone && (admins > 0 || pending !== null)) {
    db.$client.close();
    const skipped =
      admins > 0
        ? 'an admin exists'
        : `an unused invite is outstanding until ${new Date(pending ?? 0).toISOString()}`;
    console.log(JSON.stringify({ skipped }));
    return 0;
  }
  const { token, expiresAt } = invites.issue(ttlMs);
  db.$client.close();
  const link = new URL('/signup', config.publicUrl);
  link.searchParams.set(INVITE_PARAM, token);
  console.log(JSON.stringify({ link: link.href, expiresAt: new Date(expiresAt).toISOString() }));
  return 0;
}

/** The running platform's admin API on this machine, with the admin token it uses. */
function adminApi(config: PlatformConfig) {
  const token = config.adminToken ?? readFileSync(path.join(config.dataDir, 'admin-token'), 'utf8').trim();
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
  return (method: string, p: string) =>
    fetch(`${base}${p}`, { method, headers: { authorization: `Bearer ${token}` } }).catch(
      (err: unknown) => new Response(JSON.stringify({ error: { message: String(err) } }), { status: 599 }),
    );
}

/** `matrixos rollout [status]`: starts a rollout and prints each step as it ends; 1 when it failed. */
async function rollout(config: PlatformConfig, sub: string | undefined): Promise<number> {
  if (sub !== undefined && sub !== 'status') return usage();
  try {
    return await followRollout(config, sub);
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
}

async function followRollout(config: PlatformConfig, sub: string | undefined): Promise<number> {
  const api = adminApi(config);
  type Rollout = { state: string; error: string | null; steps: { handle: string; outcome: string }[] };
  const latest = async () => {
    const r = await api('GET', '/admin/rollout');
    if (!r.ok)
      throw new Error(`GET /admin/rollout: ${r.status} ${await r.text()} (is the platform running?)`);
    return ((await r.json()) as { rollout: Rollout | null }).rollout;
  };
  if (sub === 'status') {
    console.log(JSON.stringify(await latest()));
    return 0;
  }
  const started = await api('POST', '/admin/rollout');
  if (started.status !== 202) {
    console.error(`rollout not started: ${started.status} ${await started.text()}`);
    return started.status === 409 ? 0 : 1;
  }
  const printed = new Set<string>();
  for (;;) {
    const r = await latest();
    for (const s of r?.steps ?? [])
      if (s.outcome !== 'pending' && !printed.has(s.handle)) {
        printed.add(s.handle);
        console.log(JSON.stringify(s));
      }
    if (r && r.state !== 'running') {
      console.log(JSON.stringify({ state: r.state, error: r.error }));
      return r.state === 'done' ? 0 : 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** `matrixos import`: stages the archive, has the platform stop the instance, swaps the home in. */
async function importArchive(
  config: PlatformConfig,
  dirOf: (volume: string) => Promise<string>,
  handle: string,
  archive: string,
): Promise<number> {
  const file = path.join(config.dataDir, 'platform.db');
  if (!existsSync(file)) throw new ImportRefusedError(`no platform database at ${file}: is DATA_DIR right?`);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const row = db.prepare('SELECT volume FROM instances WHERE handle = ?').get(handle) as
    | { volume: string | null }
    | undefined;
  db.close();
  if (!row) throw new ImportRefusedError(`${handle} has no instance here: provision it first`);
  const home = await dirOf(row.volume ?? handle);
  const staged = await stageImport(archive, home);
  const stop = await adminApi(config)('POST', `/containers/${handle}/stop`);
  if (!stop.ok) {
    staged.discard();
    throw new ImportRefusedError(
      `the platform did not stop ${handle} (${stop.status} ${await stop.text()}): is it running?`,
    );
  }
  staged.commit();
  console.log(JSON.stringify({ imported: handle, members: staged.members }));
  return 0;
}

function usage(): number {
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (
      err instanceof ConfigError ||
      err instanceof BackupInvalidError ||
      err instanceof RestoreRefusedError ||
      err instanceof ImportRefusedError ||
      err instanceof MoveRefusedError
    ) {
      console.error(`matrixos: ${err.message}`);
      process.exit(1);
    }
    console.error(err);
    process.exit(1);
  },
);
