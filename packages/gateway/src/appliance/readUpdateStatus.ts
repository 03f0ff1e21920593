import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type UpdateStatus, updateStatusSchema } from './contract.ts';

/** The root updater's last word (`<state>/update.json`), or null when it has none or it is unreadable. */
export async function readUpdateStatus(stateDir: string): Promise<UpdateStatus | null> {
  const text = await readFile(join(stateDir, 'update.json'), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = updateStatusSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
