import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Manifest, manifestSchema } from './manifest.ts';
import { sha256File } from './sha256File.ts';

/** A backup that must not be restored: `file` names what is wrong, relative to the backup. */
export class BackupInvalidError extends Error {
  override name = 'BackupInvalidError';
  readonly file: string;
  constructor(file: string, message: string) {
    super(message);
    this.file = file;
  }
}

/**
 * Checks every file of a backup against SHA256SUMS, and that the manifest lists exactly those
 * files, before anything is written anywhere. The first mismatch is thrown, naming the file.
 */
export async function verifyBackup(dir: string): Promise<Manifest> {
  const sumsFile = path.join(dir, 'SHA256SUMS');
  if (!existsSync(sumsFile))
    throw new BackupInvalidError('SHA256SUMS', `${dir} has no SHA256SUMS: not a backup`);
  const sums = new Map<string, string>();
  for (const line of readFileSync(sumsFile, 'utf8').split('\n')) {
    if (!line) continue;
    const m = /^([0-9a-f]{64}) {2}([\w./-]+)$/.exec(line);
    if (!m?.[1] || !m[2] || m[2].split('/').includes('..'))
      throw new BackupInvalidError('SHA256SUMS', `SHA256SUMS has a malformed line: ${line.slice(0, 80)}`);
    sums.set(m[2], m[1]);
  }
  for (const [file, want] of sums) {
    const abs = path.join(dir, file);
    if (!existsSync(abs)) throw new BackupInvalidError(file, `${file} is missing from the backup`);
    if ((await sha256File(abs)) !== want)
      throw new BackupInvalidError(file, `${file} does not match its checksum: the backup is damaged`);
  }
  if (!sums.has('manifest.json'))
    throw new BackupInvalidError('manifest.json', 'SHA256SUMS does not cover manifest.json');
  const parsed = manifestSchema.safeParse(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
  if (!parsed.success)
    throw new BackupInvalidError(
      'manifest.json',
      `manifest.json is not a backup manifest this version reads: ${parsed.error.message}`,
    );
  for (const f of parsed.data.files)
    if (sums.get(f.path) !== f.sha256)
      throw new BackupInvalidError(
        f.path,
        `${f.path} is in the manifest but not in SHA256SUMS with the same checksum`,
      );
  return parsed.data;
}
