import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** `PROXY_SECRET_KEY` as 64 hex digits or base64 of 32 bytes; anything else is refused. */
export function parseSecretKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new Error('PROXY_SECRET_KEY must be 32 bytes, as 64 hex digits or base64');
  return key;
}

/**
 * The key that seals users' own Anthropic keys: from the configuration, or else a file beside the
 * database created once (mode 0600), so a copied database file alone reveals no key.
 */
export function loadSecretKey(
  configured: string | undefined,
  file: string,
): { key: Buffer; created: boolean } {
  if (configured) return { key: parseSecretKey(configured), created: false };
  try {
    return { key: parseSecretKey(readFileSync(file, 'utf8')), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const hex = randomBytes(32).toString('hex');
  try {
    writeFileSync(file, `${hex}\n`, { mode: 0o600, flag: 'wx' });
    return { key: Buffer.from(hex, 'hex'), created: true };
  } catch (err) {
    // Another process created it first: theirs wins.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return { key: parseSecretKey(readFileSync(file, 'utf8')), created: false };
    throw err;
  }
}
