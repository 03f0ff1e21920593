import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { homePaths } from './layout.ts';

/**
 * Fills the home from the template: each template file is offered once, ever. A file is copied
 * only if the user has no file there (create-exclusive), and a file offered before is not offered
 * again, so what the user deleted stays deleted while files new in a later version still arrive.
 * Safe to run on every boot and to interrupt: the record is written last, atomically.
 */
export async function seedHome(home: string, templateDir: string): Promise<{ copied: string[] }> {
  const paths = homePaths(home);
  await mkdir(paths.privateDir, { recursive: true, mode: 0o700 });
  const offered = new Set(await readRecord(paths.templateRecord));
  const copied: string[] = [];
  let changed = false;
  for (const rel of await listFiles(templateDir)) {
    if (offered.has(rel)) continue;
    const target = join(home, rel);
    await mkdir(dirname(target), { recursive: true });
    try {
      await copyFile(join(templateDir, rel), target, constants.COPYFILE_EXCL);
      copied.push(rel);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    offered.add(rel);
    changed = true;
  }
  if (changed) {
    const tmp = `${paths.templateRecord}.tmp`;
    await writeFile(tmp, `${JSON.stringify([...offered].sort(), null, 2)}\n`);
    await rename(tmp, paths.templateRecord);
  }
  return { copied };
}

async function readRecord(file: string): Promise<string[]> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    // Missing or damaged: offering again is harmless, copies never overwrite.
    return [];
  }
}

/** Every regular file under dir, as paths relative to it with forward slashes. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}
