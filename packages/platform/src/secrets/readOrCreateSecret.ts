import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Reads a secret file, or creates it (mode 0600) with `make()` when it does not exist yet.
 * `created` lets the caller announce a secret exactly once, when it is born.
 */
export function readOrCreateSecret(file: string, make: () => string): { value: string; created: boolean } {
  try {
    return { value: readFileSync(file, 'utf8').trim(), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = make();
  try {
    writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return { value, created: true };
  } catch (err) {
    // Another process made it first: theirs wins.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return { value: readFileSync(file, 'utf8').trim(), created: false };
    throw err;
  }
}
