import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * GNU tar on the host: numeric owners (the instance's uid, whatever this host's passwd says),
 * sparse files kept sparse, the directory's own contents at the archive's root.
 */
export async function tarDirectory(dir: string, archive: string): Promise<void> {
  await run('tar', ['--create', '--numeric-owner', '--sparse', '--file', archive, '--directory', dir, '.'], {
    maxBuffer: 16 << 20,
  });
}

/** Extracts an archive made by `tarDirectory` into `dir`, owners and modes as they were. */
export async function untarInto(archive: string, dir: string): Promise<void> {
  await run(
    'tar',
    [
      '--extract',
      '--numeric-owner',
      '--same-owner',
      '--preserve-permissions',
      '--file',
      archive,
      '--directory',
      dir,
    ],
    { maxBuffer: 16 << 20 },
  );
}
