import { randomBytes } from 'node:crypto';
import { chmod, rename, writeFile } from 'node:fs/promises';
import { safeEqual } from '@matrixos/shared';

export interface KioskTicket {
  /** Writes a fresh ticket for the kiosk to read (mode 0640: the gateway's group, which the kiosk user is in). */
  issue(): Promise<void>;
  /** True once for the current ticket; a fresh one replaces it either way. */
  take(presented: string): Promise<boolean>;
}

/**
 * The kiosk's way in: the machine's own screen signs in without typing the token. The ticket is a
 * random secret in a file only the gateway and the kiosk user can read, good for one sign-in.
 */
export function createKioskTicket(file: string): KioskTicket {
  let current = '';
  async function issue(): Promise<void> {
    current = randomBytes(32).toString('base64url');
    await writeFile(`${file}.tmp`, `${current}\n`, { mode: 0o640 });
    await chmod(`${file}.tmp`, 0o640);
    await rename(`${file}.tmp`, file);
  }
  return {
    issue,
    async take(presented) {
      const ok = current !== '' && safeEqual(presented, current);
      await issue();
      return ok;
    },
  };
}
