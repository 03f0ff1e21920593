import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Reads a secret file, or creates it (mode 0600, in a 0700 directory) with `make()` when it does
 * not exist yet. `created` lets the caller announce a secret exactly once, when it is born.
 * Two processes racing to create it agree on the first one's.
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
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return { value: readFileSync(file, 'utf8').trim(), created: false };
    throw err;
  }
}

/** A 32-byte key written as 64 hex digits or base64; anything else is refused, naming `what`. */
export function parseSecretKey(text: string, what = 'the secret key'): Buffer {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new Error(`${what} must be 32 bytes, as 64 hex digits or base64`);
  return key;
}

/**
 * A key that seals secrets at rest: the configured one, or else a file beside the database made
 * once, so that a copied database file alone reveals nothing. A damaged file is refused, never
 * silently replaced (that would make every sealed value unreadable).
 */
export function loadSecretKey(
  configured: string | undefined,
  file: string,
  what?: string,
): { key: Buffer; created: boolean } {
  if (configured) return { key: parseSecretKey(configured, what), created: false };
  const { value, created } = readOrCreateSecret(file, () => randomBytes(32).toString('hex'));
  return { key: parseSecretKey(value, what ?? file), created };
}
