import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** An archive that must not be put into anyone's home; the message names the member. */
export class ImportRefusedError extends Error {
  override name = 'ImportRefusedError';
}

/** The instance's user: everything imported belongs to it, whatever the archive says. */
const INSTANCE_UID = 1000;

/**
 * Reads an archive a user took away (`GET /me/export`) into a staging directory beside `home`,
 * on the same filesystem (a disk quota counts it; a too-large one fails here, the home untouched).
 * Only files, directories and symbolic links are accepted, without set-id or sticky bits, and no
 * member may leave the archive's root: a home is data, never a way onto the host. Owners become
 * the instance's user. `commit()` (instance stopped) swaps it in; `discard()` drops it.
 */
export async function stageImport(
  archive: string,
  home: string,
): Promise<{ members: number; commit(): void; discard(): void }> {
  const { stdout } = await run('tar', ['--list', '--verbose', '--numeric-owner', '--file', archive], {
    maxBuffer: 256 << 20,
  }).catch((err: { stderr?: string }) => {
    throw new ImportRefusedError(
      `not a tar archive: ${String(err.stderr ?? err)
        .trim()
        .slice(0, 200)}`,
    );
  });
  let members = 0;
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    members++;
    const mode = line.slice(0, 10);
    const name = line.split(/\s+/).slice(5).join(' ');
    if (!'-dl'.includes(mode[0] ?? '?'))
      throw new ImportRefusedError(`${name}: only files, directories and symbolic links can be imported`);
    if (/[sStT]/.test(mode)) throw new ImportRefusedError(`${name}: set-id or sticky bits are not imported`);
    const path = name.split(' -> ')[0] ?? '';
    if (path.startsWith('/') || path.split('/').includes('..'))
      throw new ImportRefusedError(`${path}: a member outside the archive's root`);
  }
  const staging = `${home}.import`;
  const old = `${home}.replaced`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o755 });
  try {
    // Symbolic links are made last by GNU tar (a link cannot be followed while extracting).
    await run('tar', [
      '--extract',
      '--no-same-owner',
      '--no-same-permissions',
      '--file',
      archive,
      '--directory',
      staging,
    ]);
    if (process.getuid?.() === 0)
      await run('chown', ['-R', '--no-dereference', `${INSTANCE_UID}:${INSTANCE_UID}`, staging]);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw new ImportRefusedError(
      `the archive could not be unpacked (too large for the disk?): ${String(
        (err as { stderr?: string }).stderr ?? err,
      )
        .trim()
        .slice(0, 300)}`,
    );
  }
  return {
    members,
    commit() {
      rmSync(old, { recursive: true, force: true });
      if (existsSync(home)) renameSync(home, old);
      renameSync(staging, home);
      rmSync(old, { recursive: true, force: true });
    },
    discard() {
      rmSync(staging, { recursive: true, force: true });
    },
  };
}
